/** Codec (values): a reply line to a typed reading; a device error becomes ET_PROTOCOL with its status. */
import { EdgeTwinError } from '@edgetwin/sdk';
import type { Reading } from '@edgetwin/sdk/mapper';

export function parseReply(reply: string, request: string): Reading {
  const [status, ...rest] = reply.trim().split(' ');
  const value = Number(rest[0]);
  if (status === 'OK' && Number.isInteger(value)) return { value };
  throw new EdgeTwinError(
    'ET_PROTOCOL',
    `counter device answered ${JSON.stringify(reply)} to ${JSON.stringify(request)}`,
    {
      details: { status: status === 'ERR' ? rest.join(' ') : reply },
    },
  );
}
