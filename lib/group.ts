/** Appends to the list a map keeps under a key, starting it on first use (in place: groups of thousands stay linear). */
export function appendTo<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}
