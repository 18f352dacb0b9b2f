import { basicAuth, defineAction, formEncode, PluginError, retryAfterMs, type ActionContext } from '@cairn/plugin-sdk';

/**
 * Sends an SMS with Twilio's Messages API (https://www.twilio.com/docs/messaging/api/message-resource#create-a-message-resource):
 * `POST /2010-04-01/Accounts/{AccountSid}/Messages.json`, form-encoded `To`, `From` (or
 * `MessagingServiceSid`) and `Body`, HTTP Basic auth with the Account SID and Auth Token. 201 returns the
 * message resource; errors return `{ code, message, more_info, status }`.
 *
 * Twilio has no idempotency key for this request (the `I-Twilio-Idempotency-Token` header is only honoured
 * on webhooks Twilio sends), so a retry after a lost answer (timeout, reset connection) could text the person
 * twice. The action therefore notes the attempt in `ctx.store` before posting; a retry that finds the note
 * first lists the recipient's recent messages and, if one with the same body was created since the attempt,
 * returns it instead of sending again. The note is removed as soon as Twilio answers. (Two identical texts to
 * one number from two runs inside that window would be taken for one: an accepted trade-off.)
 */
export const sendSms = defineAction({
  key: 'send_sms',
  title: 'Send an SMS',
  description: "Sends a text message to the contact's phone number through Twilio",
  props: {
    type: 'object',
    properties: {
      to: { type: 'string', title: 'To', description: 'E.164 number, e.g. +15551234567 (Liquid: {{ contact.properties.phone }})', pattern: '^\\+[1-9]\\d{6,14}$' },
      body: { type: 'string', title: 'Message', minLength: 1, maxLength: 1600 },
      from: { type: 'string', title: 'From', description: 'Overrides the default sender number' },
    },
    required: ['to', 'body'],
    additionalProperties: false,
  },
  output: { type: 'object', properties: { sid: { type: 'string' }, status: { type: 'string' } } },
  run: async (ctx, props) => {
    const { account_sid: sid, auth_token: token } = ctx.secrets;
    if (!sid || !token) throw new PluginError('TWILIO_NOT_CONFIGURED', 'set the account_sid and auth_token credentials');
    const from = props.from ?? ctx.secrets.from_number;
    const service = ctx.secrets.messaging_service_sid;
    if (!from && !service) throw new PluginError('TWILIO_NO_SENDER', 'set a from number (prop or from_number credential) or the messaging_service_sid credential');
    const messages = `${apiBase(ctx)}/2010-04-01/Accounts/${encodeURIComponent(sid)}/Messages.json`;
    const auth = basicAuth(sid, token);
    const note = `send_sms:${ctx.idempotencyKey}`;
    const attempt = (await ctx.store.get(note)) as { since: string } | undefined;
    if (attempt) {
      const earlier = await findSent(ctx, messages, auth, props.to, props.body, attempt.since);
      await ctx.store.delete(note);
      if (earlier) {
        ctx.log.info('an earlier attempt had sent the message; not sending again', { sid: earlier.sid });
        return earlier;
      }
    }
    await ctx.store.set(note, { since: new Date().toISOString() });
    const res = await ctx.http.fetch(messages, {
      method: 'POST',
      headers: { authorization: auth, 'content-type': 'application/x-www-form-urlencoded' },
      body: formEncode({ To: props.to, Body: props.body, From: service ? undefined : from, MessagingServiceSid: service }),
    });
    // Twilio answered: the outcome is known, a retry needs no lookup.
    await ctx.store.delete(note);
    const body = (await res.json().catch(() => ({}))) as { sid?: string; status?: string; code?: number; message?: string };
    if (res.status === 201) return { sid: body.sid ?? '', status: body.status ?? 'queued' };
    const retryable = res.status === 429 || res.status >= 500;
    throw new PluginError(`TWILIO_${body.code ?? `HTTP_${res.status}`}`, `Twilio refused the message: ${body.message ?? `HTTP ${res.status}`}`, { retryable, retryAfterMs: retryAfterMs(res.headers) });
  },
});

function apiBase(ctx: ActionContext): string {
  if (ctx.secrets.api_base_url) return ctx.secrets.api_base_url;
  // Regional processing (https://www.twilio.com/docs/global-infrastructure/using-the-twilio-rest-api-in-a-non-us-region):
  // api.<edge>.<region>.twilio.com, e.g. api.dublin.ie1.twilio.com; the credentials must be that region's.
  const { region, edge } = ctx.secrets;
  if (region) return `https://api.${edge ? `${edge}.` : ''}${region}.twilio.com`;
  return 'https://api.twilio.com';
}

/** A message to `to` with `body` created since `since` (minus a minute of clock skew), from the first page of the recipient's messages. */
async function findSent(ctx: ActionContext, url: string, auth: string, to: string, body: string, since: string): Promise<{ sid: string; status: string } | null> {
  const res = await ctx.http.fetch(`${url}?To=${encodeURIComponent(to)}&PageSize=50`, { headers: { authorization: auth } });
  if (!res.ok) throw new PluginError(`TWILIO_HTTP_${res.status}`, `could not check whether an earlier attempt sent the message: HTTP ${res.status}`, { retryable: res.status === 429 || res.status >= 500 });
  const page = (await res.json()) as { messages?: { sid: string; status: string; to: string; body: string; date_created: string }[] };
  const after = Date.parse(since) - 60_000;
  const hit = (page.messages ?? []).find((m) => m.to === to && m.body === body && Date.parse(m.date_created) >= after);
  return hit ? { sid: hit.sid, status: hit.status } : null;
}
