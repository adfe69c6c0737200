import { Section, TopField, type EditorProps } from './editor-parts';

const EMAIL_ONLY = ['recipients', 'teamIds', 'emailTemplateId'] as const;

/** What a channel takes: email its recipients and template, the others their address, the webhook channel its signing secret. */
function applies(channel: unknown, key: string): boolean {
  if ((EMAIL_ONLY as readonly string[]).includes(key)) return channel === 'email';
  if (key === 'webhookUrl') return channel !== 'email';
  if (key === 'signingSecret') return channel === 'webhook';
  return true;
}

const isEmpty = (v: unknown) => v === undefined || v === null || (Array.isArray(v) && v.length === 0);

/**
 * A notification: its event and channel, then only the fields its channel takes. Changing the channel drops what the
 * new channel does not take (a stored secret is cleared), as the server refuses a field of another channel.
 */
export function NotificationEditor({ type, value, change }: EditorProps) {
  const channel = value.channel;
  const shown = (key: string) => applies(channel, key) || !isEmpty(value[key]);
  return (
    <div className="space-y-4">
      <TopField type={type} name="name" value={value} change={change} />
      <TopField type={type} name="event" value={value} change={change} />
      <TopField
        type={type}
        name="channel"
        value={value}
        change={(_, next) => {
          const kept = Object.fromEntries(
            Object.entries(value).flatMap(([key, v]): [string, unknown][] => {
              if (applies(next, key)) return [[key, v]];
              // A stored secret of another channel is cleared; anything else of it is left out.
              return v && typeof v === 'object' && (v as { set?: unknown }).set === true ? [[key, null]] : [];
            }),
          );
          change([], { ...kept, channel: next });
        }}
      />
      <Section title={channel === 'email' ? 'Who is mailed' : 'Where it posts'} help={channel === 'email' ? 'Addresses and the members of teams; the template shapes the message.' : 'The channel’s incoming-webhook address is a credential: write-only.'}>
        {['recipients', 'teamIds', 'emailTemplateId', 'webhookUrl', 'signingSecret'].filter(shown).map((key) => (
          <TopField key={key} type={type} name={key} value={value} change={change} />
        ))}
      </Section>
      <TopField type={type} name="enabledInstances" value={value} change={change} />
      <TopField type={type} name="enabled" value={value} change={change} />
    </div>
  );
}
