import { Link } from '@tanstack/react-router';

/** A screen the signed-in agent's rights do not cover: shown as "not allowed", never as a broken page. */
export class NotAllowedError extends Error {
  constructor(readonly permission: string) {
    super(`This screen needs the permission "${permission}", which you do not hold.`);
  }
}

export function isNotAllowed(error: unknown): error is NotAllowedError {
  return error instanceof NotAllowedError;
}

/** A screen the signed-in agent may not use: said plainly, with what it needs, and a way to what they may use. */
export function NotAllowed({ permission }: { permission: string | null }) {
  return (
    <main className="mx-auto max-w-xl p-8">
      <h1 className="text-xl font-semibold">Not allowed</h1>
      <p className="mt-2">
        Your roles do not give you this screen
        {permission ? (
          <>
            {' '}
            — it needs the permission <code>{permission}</code>
          </>
        ) : null}
        . The instance refuses its requests to you as well.
      </p>
      <p className="mt-2">An administrator can change the roles you hold.</p>
      <Link to="/me" className="mt-4 inline-block text-blue-800 underline">
        See what you may do
      </Link>
    </main>
  );
}
