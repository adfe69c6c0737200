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
      <dl className="space-y-2">
        <div className="flex flex-wrap items-center gap-x-3 gap-y-1">
          <dt className="w-24 font-medium">Client ID</dt>
          <dd className="min-w-0 flex-1">
            <code data-testid="client-id" className="break-all">
              {clientId}
            </code>
          </dd>
          <dd>
            <Button onPress={() => void copy('client id', clientId)}>Copy client ID</Button>
          </dd>
        </div>
        <div className="flex flex-wrap items-center gap-x-3 gap-y-1">
          <dt className="w-24 font-medium">Client secret</dt>
          <dd className="min-w-0 flex-1">
            <code data-testid="client-secret" className="break-all">
              {clientSecret}
            </code>
          </dd>
          <dd>
            <Button look="primary" onPress={() => void copy('client secret', clientSecret)}>
              Copy client secret
            </Button>
          </dd>
        </div>
      </dl>
      <p role="status" className="min-h-5 text-green-800">
        {copied ? `The ${copied} is on the clipboard.` : ''}
      </p>
    </section>
  );
}
