import { Button } from '../../ui/button';
import { input } from './schema-form';
import { asList, FieldMessage, ItemControls, Section, TopField, type EditorProps } from './editor-parts';

const OPERATORS = [
  ['equals', 'equals'],
  ['not-equals', 'does not equal'],
  ['contains', 'contains'],
  ['not-contains', 'does not contain'],
  ['regex', 'matches the pattern'],
] as const;

const phrase = (rule: Record<string, unknown>) => `${String(rule.claim || '…')} ${OPERATORS.find(([op]) => op === rule.operator)?.[1] ?? String(rule.operator)} “${String(rule.value ?? '')}”`;

/** An SSO connection: the provider, the client secret (write-only), the instances it signs in to and the claims it checks. */
export function SsoEditor({ type, value, change, error, readOnly }: EditorProps) {
  const rules = asList(value.claimValidations);
  return (
    <div className="space-y-4">
      <TopField type={type} name="name" value={value} change={change} />
      <Section title="Provider" help="OpenID Connect: the issuer’s discovery document says where to sign in; the client secret is write-only.">
        <TopField type={type} name="issuer" value={value} change={change} />
        <TopField type={type} name="clientId" value={value} change={change} />
        <TopField type={type} name="clientSecret" value={value} change={change} />
        <TopField type={type} name="scopes" value={value} change={change} />
      </Section>
      <Section title="Where it signs in" help="The instances of this pipeline whose sign-in page offers this connection; at least one.">
        <TopField type={type} name="instances" value={value} change={change} />
      </Section>
      <Section title="Claim validations" help="Every rule must hold on the ID token’s claims, or sign-in is refused. A claim that is a list (groups) contains a value when one of its items is it.">
        {rules.length === 0 ? (
          <p className="text-sm text-slate-600">No rules: anyone the provider signs in, who matches an agent here, gets in.</p>
        ) : (
          <p className="text-sm" data-testid="claim-summary">
            Signs in only when {rules.map((rule, i) => (
              <span key={i}>
                {i > 0 && ' and '}
                <strong>{phrase(rule)}</strong>
              </span>
            ))}
            .
          </p>
        )}
        <ol className="space-y-2">
          {rules.map((rule, index) => (
            <li key={index} className="flex flex-wrap items-end gap-2 rounded border border-slate-200 bg-slate-50 p-2" data-row={`claimValidations[${index}]`}>
              <label className="flex w-40 flex-col gap-1 text-sm">
                <span className="font-medium">Claim</span>
                <input className={input} disabled={readOnly} placeholder="groups" value={String(rule.claim ?? '')} onChange={(e) => change(['claimValidations', index, 'claim'], e.target.value)} />
                <FieldMessage error={error} location={['claimValidations', index, 'claim']} />
              </label>
              <label className="flex w-44 flex-col gap-1 text-sm">
                <span className="font-medium">Rule</span>
                <select className={input} disabled={readOnly} value={String(rule.operator)} onChange={(e) => change(['claimValidations', index, 'operator'], e.target.value)}>
                  {OPERATORS.map(([op, words]) => (
                    <option key={op} value={op}>
                      {words}
                    </option>
                  ))}
                </select>
              </label>
              <label className="flex min-w-48 flex-1 flex-col gap-1 text-sm">
                <span className="font-medium">Value</span>
                <input className={input} disabled={readOnly} placeholder="Service Desk Admins" value={String(rule.value ?? '')} onChange={(e) => change(['claimValidations', index, 'value'], e.target.value)} />
                <FieldMessage error={error} location={['claimValidations', index, 'value']} />
              </label>
              <ItemControls list={rules} index={index} location={['claimValidations']} what={`claim rule ${index + 1}`} change={change} readOnly={readOnly} />
            </li>
          ))}
        </ol>
        {!readOnly && <Button onPress={() => change(['claimValidations'], [...rules, { claim: 'groups', operator: 'contains', value: '' }])}>Add a claim rule</Button>}
      </Section>
      <TopField type={type} name="matchAgentBy" value={value} change={change} />
      <TopField type={type} name="enabled" value={value} change={change} />
    </div>
  );
}
