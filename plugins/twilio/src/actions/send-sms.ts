import { basicAuth, defineAction, formEncode, PluginError } from '@cairn/plugin-sdk';

/**
 * Sends an SMS with Twilio's Messages API (https://www.twilio.com/docs/messaging/api/message-resource#create-a-message-resource):
 * `POST /2010-04-01/Accounts/{AccountSid}/Messages.json`, form-encoded `To`, `From` (or
 * `MessagingServiceSid`) and `Body`, HTTP Basic auth with the Account SID and Auth Token. 201 returns the
 * message resource; errors return `{ code, message, more_info, status }`.
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
    const base = ctx.secrets.api_base_url ?? 'https://api.twilio.com';
    const res = await ctx.http.fetch(`${base}/2010-04-01/Accounts/${encodeURIComponent(sid)}/Messages.json`, {
      method: 'POST',
      headers: {
        authorization: basicAuth(sid, token),
        'content-type': 'application/x-www-form-urlencoded',
        // Twilio deduplicates retried requests carrying the same token.
        'i-twilio-idempotency-token': ctx.idempotencyKey,
      },
      body: formEncode({ To: props.to, Body: props.body, From: service ? undefined : from, MessagingServiceSid: service }),
    });
    const body = (await res.json().catch(() => ({}))) as { sid?: string; status?: string; code?: number; message?: string };
    if (res.status === 201) return { sid: body.sid ?? '', status: body.status ?? 'queued' };
    const retryable = res.status === 429 || res.status >= 500;
    throw new PluginError(`TWILIO_${body.code ?? `HTTP_${res.status}`}`, `Twilio refused the message: ${body.message ?? `HTTP ${res.status}`}`, { retryable });
  },
});
