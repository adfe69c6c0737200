import { Button } from '../../ui/button';
import { Field } from './schema-form';
import { asList, blankItem, FieldMessage, schemaAt, Section, TopField, type EditorProps } from './editor-parts';

const CREDENTIAL_FIELDS = ['mailboxAddress', 'username', 'password', 'clientId', 'clientSecret', 'tenantId', 'host', 'port', 'security', 'folder'] as const;
type CredentialField = (typeof CREDENTIAL_FIELDS)[number];

const server: CredentialField[] = ['mailboxAddress', 'username', 'password', 'host', 'port', 'security'];
const oauth: CredentialField[] = ['mailboxAddress', 'clientId', 'clientSecret', 'tenantId'];
/** The credentials each kind of mailbox signs in with; a field holding a value is shown whatever the kind. */
const FIELDS_OF: Record<string, CredentialField[]> = {
  microsoft: oauth,
  google: ['mailboxAddress', 'clientId', 'clientSecret'],
  imap: [...server, 'folder'],
  pop3: server,
  smtp: server,
  ews: ['mailboxAddress', 'username', 'password', 'host'],
};

/** A mailbox: the address customers write to, and for each instance of the pipeline the external mailbox it opens. */
export function MailboxEditor({ type, value, change, error, readOnly, instances }: EditorProps) {
  const credentials = asList(value.credentials);
  const named = [...new Set([...instances, ...credentials.map((c) => String(c.instance))])];
  return (
    <div className="space-y-4">
      <TopField type={type} name="name" value={value} change={change} />
      <TopField type={type} name="address" value={value} change={change} />
      <TopField type={type} name="type" value={value} change={change} />
      <TopField type={type} name="defaultTicketTypeId" value={value} change={change} />
      <TopField type={type} name="defaultTeamId" value={value} change={change} />
      <Section
        title="Credentials per instance"
        field="credentials"
        help="Each instance opens its own external mailbox, so development never reads production’s mail. The fields are those the mailbox’s type signs in with. Passwords and client secrets are write-only: set, replace or clear them."
      >
        <FieldMessage error={error} location={['credentials']} />
        <ul className="space-y-3">
          {named.map((instance) => {
            const index = credentials.findIndex((c) => c.instance === instance);
            const entry = credentials[index];
            return (
              <li key={instance} className="rounded border border-slate-200 bg-slate-50 p-3" data-instance={instance}>
                <div className="flex flex-wrap items-center gap-3">
                  <h3 className="font-semibold">{instance}</h3>
                  {!entry ? (
                    <>
                      <span className="text-sm text-slate-700">Does not read this mailbox.</span>
                      {!readOnly && (
                        <Button className="ml-auto" onPress={() => change(['credentials'], [...credentials, blankItem(type, ['credentials', '[]'], { id: instance.replace(/[^A-Za-z0-9_-]/g, '-').slice(0, 64), instance })])}>
                          Set up credentials for {instance}
                        </Button>
                      )}
                    </>
                  ) : (
                    !readOnly && (
                      <Button look="quiet" className="ml-auto" onPress={() => change(['credentials'], credentials.filter((_, i) => i !== index))}>
                        Remove the credentials of {instance}
                      </Button>
                    )
                  )}
                </div>
                {entry && <FieldMessage error={error} location={['credentials', index]} />}
                {entry && (
                  <div className="mt-2 grid gap-3 sm:grid-cols-2">
                    {CREDENTIAL_FIELDS.filter((key) => (FIELDS_OF[String(value.type)] ?? CREDENTIAL_FIELDS).includes(key) || entry[key] !== undefined).map((key) => (
                      <Field key={key} name={key} schema={schemaAt(type.schema, ['credentials', '[]', key])} value={entry[key]} location={['credentials', index, key]} required={key === 'mailboxAddress'} change={change} />
                    ))}
                  </div>
                )}
              </li>
            );
          })}
        </ul>
      </Section>
    </div>
  );
}
