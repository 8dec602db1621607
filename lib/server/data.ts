/**
 * Where a container keeps data: a named volume, a writable bind mount of a host folder, or an
 * image that is a known data store (its data may sit in an anonymous volume, or in its own
 * writable layer). A container holding data outside the deployed project is never removed
 * unless named (SERVER_REMOVE_NAMES) or --force.
 */
import { escapeRegExp } from '../text.ts';
import type { Container, Mount } from '../host/parse.ts';
import { repositoryOf } from '../host/names.ts';

/** Host paths a container mounts to see the system, not to store anything (monitoring agents). */
const SYSTEM_PATHS = /^\/(proc|sys|dev|run|var\/run)(\/|$)|^\/etc\/(localtime|timezone|hostname|hosts|resolv\.conf)$/;

const ANONYMOUS = /^[0-9a-f]{64}$/;

/**
 * True when the image reference names one of the data stores: the repository's last path
 * segment is the name, the name with `ql` or `db` (postgresql, mongodb), or either followed by
 * `-`, `_` or `.` (redis-stack, mariadb_10). Matching generously only ever keeps more.
 */
export function isDataStoreImage(ref: string, dataImages: readonly string[]): string | undefined {
  const last = repositoryOf(ref).split('/').pop() ?? '';
  return dataImages.find((name) => new RegExp(`^${escapeRegExp(name)}(ql|db)?([-_.].*)?$`, 'i').test(last));
}

/** The places the container holds data in, as a user would name them; empty when none. */
export function dataHeldIn(c: Container, dataImages: readonly string[]): string[] {
  const places: string[] = [];
  const mounts: Mount[] =
    c.mounts ?? c.volumes.map((name) => ({ type: 'volume', name, destination: '', writable: true }));
  for (const m of mounts) {
    if (m.type === 'volume' && m.name && !ANONYMOUS.test(m.name)) places.push(`volume ${m.name}`);
    else if (m.type === 'bind' && m.writable && m.source && !SYSTEM_PATHS.test(m.source))
      places.push(`host folder ${m.source}`);
  }
  const store = isDataStoreImage(c.imageRef, dataImages);
  const anonymous = c.volumes.filter((v) => ANONYMOUS.test(v)).map((v) => `anonymous volume ${v.slice(0, 12)}`);
  // A data store keeps its data somewhere: where it mounts something, else in its own layer.
  if (store && (anonymous.length || !places.length))
    places.push(
      `${anonymous.length ? anonymous.join(', ') : 'its container layer'} (${c.imageRef} is a data store: ${store})`,
    );
  return places;
}
