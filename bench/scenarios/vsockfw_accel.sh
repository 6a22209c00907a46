#!/bin/bash
# app -> vsockfw -> server on loopback (host kernel, private netns and
# cgroup), vsockfw (ip2vs, TCP to TCP) choosing its data path by itself:
#   direct           app -> server, plain TCP (the baseline)
#   vsockfw_copy     vsockfw --tier copy, no BPF: the io_uring copy tier
#   vsockfw_auto     vsockfw without BPF (copy, then splice(2) for bulk)
#   vsockfw_bypass   lobypass loaded, app, vsockfw and server in its cgroup:
#                    sk_msg skips TCP on both legs, vsockfw copies (auto;
#                    vsockfw joins the flow-controlled bypass by default).
#                    A direction whose reader falls 8 MiB behind continues
#                    through TCP (docs/dataplane.md): the share of bytes
#                    that did is reported as bypass_spilled_share
#   vsockfw_sockmap  splice loaded: auto puts each pair in the sockmap tier
# tperf moves SIZE bytes one way; throughput, CPU of the machine per GiB and
# CPU of vsockfw plus kernel workers per GiB.
case "${1:-}" in
describe)
	echo "vsockfw kernel tiers: app -> vsockfw -> server with lobypass / sockmap vs the copy tier vs direct TCP"
	echo "BASELINE direct"
	echo "TARGET vsockfw_bypass throughput >= 1.0"
	;;
run)
	set -u
	. "$NEK_ROOT/bench/lib/accel.sh"
	accel_bench_setup
	size=$(bench_size $((1 << 30)) $((256 << 20)))
	st=$WORKDIR/state
	vsockfw -q bpf load --pin "$PIN" --cgroup "$CG" --objs lobypass,splice --port 9212 || exit 1
	bg in_ns tperf serve --listen tcp:127.0.0.1:9210
	bg in_cg tperf serve --listen tcp:127.0.0.1:9212
	bg in_ns vsockfw -q ip2vs --listen tcp:127.0.0.1:9201 --to tcp:127.0.0.1:9210 \
		--tier copy --bpf-pin none --state-dir "$st"
	pc=$BG_PID
	bg in_ns vsockfw -q ip2vs --listen tcp:127.0.0.1:9202 --to tcp:127.0.0.1:9210 \
		--bpf-pin none --state-dir "$st"
	pa=$BG_PID
	bg in_cg vsockfw -q ip2vs --listen tcp:127.0.0.1:9203 --to tcp:127.0.0.1:9212 \
		--bpf-pin "$PIN" --state-dir "$st"
	pb=$BG_PID
	bg in_ns vsockfw -q ip2vs --listen tcp:127.0.0.1:9204 --to tcp:127.0.0.1:9210 \
		--bpf-pin "$PIN" --state-dir "$st"
	ps=$BG_PID
	for p in 9210 9212 9201 9202 9203 9204; do wait_tperf tcp:127.0.0.1:$p || exit 1; done
	s0=$(vsockfw bpf counter --pin "$PIN" splice bytes)
	y0=$(vsockfw bpf counter --pin "$PIN" lobypass bytes)
	measure direct "$size" - in_ns "${TPERF[@]}" send --connect tcp:127.0.0.1:9210 || exit 1
	measure vsockfw_copy "$size" $pc in_ns "${TPERF[@]}" send --connect tcp:127.0.0.1:9201 ||
		exit 1
	measure vsockfw_auto "$size" $pa in_ns "${TPERF[@]}" send --connect tcp:127.0.0.1:9202 ||
		exit 1
	measure vsockfw_bypass "$size" $pb in_cg "${TPERF[@]}" send --connect tcp:127.0.0.1:9203 ||
		exit 1
	measure vsockfw_sockmap "$size" $ps in_ns "${TPERF[@]}" send --connect tcp:127.0.0.1:9204 ||
		exit 1
	# The kernel paths really carried their variants (not a silent fallback).
	# Each leg direction is redirected at least up to the bound (8 MiB);
	# what was not redirected of both legs' 2 x size went through TCP after
	# a spill (docs/dataplane.md).
	y=$(($(vsockfw bpf counter --pin "$PIN" lobypass bytes) - y0))
	[ "$y" -ge $((2 * (8 << 20))) ] ||
		{ echo "lobypass did not carry vsockfw_bypass" >&2; exit 1; }
	awk -v y="$y" -v t=$((2 * size)) \
		'BEGIN { s = 1 - y / t; if (s < 0) s = 0; printf "RESULT vsockfw_bypass spilled_share %.3f share lower\n", s }'
	[ $(($(vsockfw bpf counter --pin "$PIN" splice bytes) - s0)) -ge "$size" ] ||
		{ echo "the sockmap tier did not carry vsockfw_sockmap" >&2; exit 1; }
	;;
*) echo "usage: $0 describe|run" >&2; exit 2 ;;
esac
