# retry CMD...: runs CMD until it succeeds, at most NEK_RETRIES times (default
# 5), waiting NEK_RETRY_DELAY seconds (default 2) after the first failure and
# twice as long after each next one (2+4+8+16 s: a mirror or DNS that does not
# answer for a moment, an apt lock held by another run). Each failure is one
# line on stderr; the last failure's exit status is returned. POSIX sh: deps.sh
# sources it too. CMD may be a shell function.
retry() {
	_retry_n=${NEK_RETRIES:-5}
	_retry_d=${NEK_RETRY_DELAY:-2}
	_retry_i=1
	while :; do
		"$@" && return 0
		_retry_rc=$?
		if [ "$_retry_i" -ge "$_retry_n" ]; then
			echo "retry: '$*' failed $_retry_n times (exit $_retry_rc), giving up" >&2
			return "$_retry_rc"
		fi
		echo "retry: '$*' failed (exit $_retry_rc), try $((_retry_i + 1))/$_retry_n in ${_retry_d}s" >&2
		sleep "$_retry_d"
		_retry_i=$((_retry_i + 1))
		_retry_d=$((_retry_d * 2))
	done
}
