import { defineAction, PluginError, retryAfterMs } from '@cairn/plugin-sdk';

/**
 * Sends an email with SendGrid's v3 Mail Send API (https://www.twilio.com/docs/sendgrid/api-reference/mail-send/mail-send):
 * `POST /v3/mail/send` with `Authorization: Bearer <API key>` and a JSON body of `personalizations`, `from`,
 * `subject` and `content` (text/plain first, then text/html). 202 Accepted with an `X-Message-Id` header;
 * errors are `{ errors: [{ message, field, help }] }`.
 */
export const sendEmail = defineAction({
  key: 'send_email',
  title: 'Send an email',
  description: 'Sends an email to the contact through SendGrid',
  props: {
    type: 'object',
    properties: {
      to: { type: 'string', title: 'To', description: "Defaults to the contact's email", format: 'email' },
      subject: { type: 'string', title: 'Subject', minLength: 1, maxLength: 998 },
      text: { type: 'string', title: 'Plain text body' },
      html: { type: 'string', title: 'HTML body' },
      from_email: { type: 'string', title: 'From address', description: 'Overrides the from_email credential' },
      from_name: { type: 'string', title: 'From name' },
      categories: { type: 'array', title: 'Categories', maxItems: 10, items: { type: 'string', minLength: 1, maxLength: 255 } },
    },
    required: ['subject'],
    additionalProperties: false,
  },
  output: { type: 'object', properties: { message_id: { type: ['string', 'null'] }, status: { type: 'integer' } } },
  run: async (ctx, props) => {
    if (!ctx.secrets.api_key) throw new PluginError('SENDGRID_NOT_CONFIGURED', 'set the api_key credential');
    const to = props.to ?? ctx.contact.email;
    if (!to) throw new PluginError('SENDGRID_NO_RECIPIENT', 'the contact has no email and no "to" was given');
    const from = props.from_email ?? ctx.secrets.from_email;
    if (!from) throw new PluginError('SENDGRID_NO_SENDER', 'set from_email (prop or credential)');
    if (!props.text && !props.html) throw new PluginError('SENDGRID_NO_CONTENT', 'give text, html or both');
    const content = [
      ...(props.text ? [{ type: 'text/plain', value: props.text }] : []),
      ...(props.html ? [{ type: 'text/html', value: props.html }] : []),
    ];
    // https://www.twilio.com/docs/sendgrid/for-developers/sending-email/data-residency: EU subusers use api.eu.sendgrid.com.
    const base = ctx.secrets.api_base_url ?? (ctx.secrets.region === 'eu' ? 'https://api.eu.sendgrid.com' : 'https://api.sendgrid.com');
    const res = await ctx.http.fetch(`${base}/v3/mail/send`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ctx.secrets.api_key}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        personalizations: [{ to: [{ email: to }] }],
        from: props.from_name ? { email: from, name: props.from_name } : { email: from },
        subject: props.subject,
        content,
        ...(props.categories?.length ? { categories: props.categories } : {}),
        // Lets webhooks and support map a SendGrid event back to the Cairn step.
        custom_args: { cairn_step: ctx.idempotencyKey },
      }),
    });
    if (res.status === 202) return { message_id: res.headers['x-message-id'] ?? null, status: 202 };
    const body = (await res.json().catch(() => ({}))) as { errors?: { message?: string; field?: string | null }[] };
    const first = body.errors?.[0];
    const detail = first ? `${first.message ?? ''}${first.field ? ` (${first.field})` : ''}` : `HTTP ${res.status}`;
    throw new PluginError(`SENDGRID_HTTP_${res.status}`, `SendGrid refused the email: ${detail}`, { retryable: res.status === 429 || res.status >= 500, retryAfterMs: retryAfterMs(res.headers) });
  },
});
