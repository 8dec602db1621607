/**
 * A real nginx without any registry (none can be pulled here): Debian's nginx binary, taken from
 * its .deb (the apt cache, or `apt-get download`), with the libraries `ldd` names, a small
 * nginx.conf that includes /etc/nginx/conf.d/*.conf, nobody/nogroup and busybox for a shell,
 * imported with `docker import`. About 12 MB; `nginx -s reload` works in the container.
 */
import { ensureImportedImage, type TestEngine } from './dockerd.ts';

export const NGINX_CONF = `user nobody nogroup;
pid /run/nginx.pid;
error_log /dev/stderr;
events {}
http {
  include /etc/nginx/mime.types;
  access_log off;
  include /etc/nginx/conf.d/*.conf;
}
`;

export function ensureNginxImage(test: TestEngine, name = 'cleanup-test/nginx:local'): string {
  return ensureImportedImage(test, name, [
    'set -e',
    'work=$(mktemp -d)',
    'root="$work/root"',
    'cd "$work"',
    'for package in nginx nginx-common; do',
    '  deb=$(ls /var/cache/apt/archives/${package}_*.deb 2>/dev/null | head -n 1)',
    '  if [ -z "$deb" ]; then apt-get download "$package" >/dev/null; deb=$(ls "$work"/${package}_*.deb | head -n 1); fi',
    '  dpkg -x "$deb" "$work/x"',
    'done',
    'mkdir -p "$root/usr/sbin" "$root/etc/nginx/conf.d" "$root/var/log/nginx" "$root/var/lib/nginx" "$root/run" "$root/bin" "$root/tmp"',
    'cp "$work/x/usr/sbin/nginx" "$root/usr/sbin/nginx"',
    'for lib in $(ldd "$work/x/usr/sbin/nginx" | grep -o "/[^ ]*"); do mkdir -p "$root$(dirname "$lib")"; cp -L "$lib" "$root$lib"; done',
    'cp "$work/x/etc/nginx/mime.types" "$root/etc/nginx/mime.types"',
    `cat > "$root/etc/nginx/nginx.conf" <<'CONF'\n${NGINX_CONF}CONF`,
    'printf "root:x:0:0:root:/:/bin/sh\\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\\n" > "$root/etc/passwd"',
    'printf "root:x:0:\\nnogroup:x:65534:\\n" > "$root/etc/group"',
    'cp /bin/busybox "$root/bin/busybox"',
    'for tool in sh cat ls echo sleep wget kill ps mkdir; do ln -s busybox "$root/bin/$tool"; done',
    `tar -C "$root" -c . | docker -H ${test.host} import --change 'ENV PATH=/usr/sbin:/bin' --change 'CMD ["nginx", "-g", "daemon off;"]' - ${name} >/dev/null`,
    'rm -rf "$work"',
  ]);
}
