import { useState } from 'react';
import { Button } from '../../ui/button';

/** A client secret shown this once: copy it now; it is never shown again. */
export function SecretOnce({ clientId, clientSecret }: { clientId: string; clientSecret: string }) {
  const [copied, setCopied] = useState<string | null>(null);
  const copy = async (what: string, value: string) => {
    await navigator.clipboard.writeText(value);
    setCopied(what);
  };
  return (
    <section aria-labelledby="secret-heading" className="space-y-3 rounded border border-amber-400 bg-amber-50 p-4 text-sm">
      <h2 id="secret-heading" className="text-base font-semibold">
        Copy the client secret now
      </h2>
      <p>It is shown this once: Shiplog keeps only a hash of it. If it is lost, rotate the secret to get a new one.</p>
      <dl className="grid grid-cols-[max-content_1fr_max-content] items-center gap-x-3 gap-y-2">
        <dt className="font-medium">Client ID</dt>
        <dd>
          <code data-testid="client-id">{clientId}</code>
        </dd>
        <dd>
          <Button onPress={() => void copy('client id', clientId)}>Copy client ID</Button>
        </dd>
        <dt className="font-medium">Client secret</dt>
        <dd>
          <code data-testid="client-secret" className="break-all">
            {clientSecret}
          </code>
        </dd>
        <dd>
          <Button look="primary" onPress={() => void copy('client secret', clientSecret)}>
            Copy client secret
          </Button>
        </dd>
      </dl>
      <p role="status" className="min-h-5 text-green-800">
        {copied ? `The ${copied} is on the clipboard.` : ''}
      </p>
    </section>
  );
}
