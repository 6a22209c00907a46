#!/bin/bash
# make vmtest's kernel: fetched once per version into a cache outside the
# checkout and reused, fetches retried, the newest cached kernel used (with a
# warning) when the mirror does not answer, the version printed and a change
# between runs said so. apt-cache, apt-get, dpkg-deb and depmod are stand-ins:
# nothing is downloaded (tests/vm/vmtest.sh --kernel stops before qemu).
T_NAME=vm_kernel
. "$NEK_ROOT/tests/lib.sh"
t_require_cmd flock

D=$(t_tmpdir)
mkdir "$D/bin" "$D/cache"
# apt-cache: KMETA depends on linux-image-$(cat newest). apt-get download:
# fails while the "fails" counter is positive (a DNS failure), else writes a
# .deb per package named. dpkg-deb -x: what the kernel .debs hold, minimally.
cat >"$D/bin/apt-cache" <<EOF2
#!/bin/sh
case \$1 in
show) exit 0 ;;
depends) echo "  Depends: linux-image-\$(cat "$D/newest")" ;;
esac
EOF2
cat >"$D/bin/apt-get" <<EOF2
#!/bin/sh
echo "\$*" >>"$D/apt.log"
[ "\$1" = download ] || exit 0
f=\$(cat "$D/fails" 2>/dev/null || echo 0)
if [ "\$f" -gt 0 ]; then
	echo \$((f - 1)) >"$D/fails"
	echo "E: Temporary failure resolving 'deb.debian.org'" >&2
	exit 100
fi
for p in "\$@"; do case \$p in linux-*) echo "\$p" >"\$p.deb" ;; esac; done
EOF2
cat >"$D/bin/dpkg-deb" <<'EOF2'
#!/bin/sh
p=$(cat "$2")
case $p in
linux-image-*) mkdir -p "$3/boot" && echo "$p" >"$3/boot/vmlinuz-${p#linux-image-}" ;;
linux-headers-*-common) ;;
linux-headers-*) mkdir -p "$3/usr/src/$p" && echo 'include /usr/src/x/Makefile' >"$3/usr/src/$p/Makefile" ;;
esac
EOF2
printf '#!/bin/sh\nexit 0\n' >"$D/bin/depmod"
chmod +x "$D/bin/"*
vmk() {
	env PATH="$D/bin:$PATH" VM_CACHE="$D/cache" NEK_RETRY_DELAY=0 "$NEK_ROOT/tests/vm/vmtest.sh" \
		--kernel 2>"$D/err"
}
fetches() { cat "$D/apt.log" 2>/dev/null | grep -c '^download'; }

echo 6.12.117+deb12-cloud-amd64 >"$D/newest"
echo 2 >"$D/fails"
t_eq "first run: the newest kernel" 6.12.117+deb12-cloud-amd64 "$(vmk)"
t_eq "fetched after two failed tries" 3 "$(fetches)"
t_match "the failures said so" "retry: .*failed \\(exit 100\\), try 2/5" "$(cat "$D/err")"
t_match "the version used is printed" "vmtest: kernel 6.12.117\\+deb12-cloud-amd64 \\(cache $D/cache\\)" \
	"$(cat "$D/err")"
t_ok "unpacked in the cache" test -f "$D/cache/6.12.117+deb12-cloud-amd64/boot/vmlinuz-6.12.117+deb12-cloud-amd64"
t_match "the headers' Makefile points into the cache" "include $D/cache/6.12.117" \
	"$(cat "$D/cache/6.12.117+deb12-cloud-amd64/usr/src/linux-headers-6.12.117+deb12-cloud-amd64/Makefile")"

rm -f "$D/apt.log"
t_eq "second run: the same kernel" 6.12.117+deb12-cloud-amd64 "$(vmk)"
t_eq "reused from the cache, nothing fetched" 0 "$(fetches)"
t_eq "no change reported" "" "$(grep 'changed' "$D/err")"

# A newer kernel appears, but the mirror does not answer at all.
echo 6.12.118+deb12-cloud-amd64 >"$D/newest"
echo 100 >"$D/fails"
t_eq "mirror down: the cached kernel is used" 6.12.117+deb12-cloud-amd64 "$(vmk)"
t_match "with a warning naming both" "warning: cannot fetch 6.12.118\\+deb12-cloud-amd64; using the cached 6.12.117" \
	"$(cat "$D/err")"

echo 0 >"$D/fails"
t_eq "mirror back: the newer kernel" 6.12.118+deb12-cloud-amd64 "$(vmk)"
t_match "and the log says it changed" "kernel changed since the last run: 6.12.117\\+deb12-cloud-amd64 -> 6.12.118\\+deb12-cloud-amd64" \
	"$(cat "$D/err")"

echo 100 >"$D/fails"
out=$(env PATH="$D/bin:$PATH" VM_CACHE="$D/cache" VM_KERNEL=6.12.200+deb12-cloud-amd64 NEK_RETRIES=2 \
	NEK_RETRY_DELAY=0 "$NEK_ROOT/tests/vm/vmtest.sh" --kernel 2>&1)
t_eq "a pinned VM_KERNEL that cannot be fetched fails (no fallback)" 1 $?
t_match "saying so" "no kernel: cannot fetch 6.12.200" "$out"
t_done
