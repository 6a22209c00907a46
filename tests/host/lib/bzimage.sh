# A stand-in kernel that passes eif build's bzImage check (the x86 boot
# protocol's real-mode header) around random bytes: nothing boots it here.
#
#   fake_bzimage PATH [SIZE] [VERSION_HEX]   default 200000 bytes, protocol 0x020f
fake_bzimage() {
	local f=$1 size=${2:-200000} v=${3:-020f}
	head -c "$size" /dev/urandom >"$f"
	bz_poke "$f" 0x1f1 '\001'                 # setup_sects
	bz_poke "$f" 0x1fe '\125\252'             # boot_flag 0xAA55
	bz_poke "$f" 0x202 'HdrS'
	bz_poke "$f" 0x206 "\\x${v:2:2}\\x${v:0:2}"  # version, little-endian
	bz_poke "$f" 0x211 '\001'                 # loadflags: LOADED_HIGH
}
# bz_poke FILE OFFSET PRINTF-STRING: overwrite bytes in place.
bz_poke() { printf "$3" | dd of="$1" bs=1 seek=$(($2)) conv=notrunc status=none; }
