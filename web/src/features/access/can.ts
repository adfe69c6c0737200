import { useSuspenseQuery, type QueryClient } from '@tanstack/react-query';
import { instanceQuery } from '../../api/queries';
import { NotAllowedError } from '../../ui/not-allowed';

/** Whether the signed-in agent holds a permission, from the rights the server says this session has. */
export function useCan(): (permission: string) => boolean {
  const { data: instance } = useSuspenseQuery(instanceQuery);
  return (permission) => instance.you.permissions.includes(permission);
}

/** A route's `beforeLoad`: a screen offered only with `permission`; a deep link without it is refused before it loads. */
export function requires(permission: string) {
  return async ({ context }: { context: { queryClient: QueryClient } }): Promise<void> => {
    const instance = await context.queryClient.ensureQueryData(instanceQuery);
    if (!instance.you.permissions.includes(permission)) throw new NotAllowedError(permission);
  };
}
