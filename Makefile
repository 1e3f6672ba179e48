# tapmip: the front door. `make test` checks the tools, lints, and runs every test,
# including the network-namespace ones (as root and in an unprivileged user namespace).

SHELL := /bin/bash
CARGO ?= cargo

# tool -> Debian package that provides it
DEPS := ip:iproute2 tshark:tshark unshare:util-linux ping:iputils-ping socat:socat \
	radclient:freeradius-utils busybox:busybox-static
PACKAGES := iproute2 tshark python3-scapy util-linux iputils-ping socat freeradius freeradius-utils \
	busybox-static

.PHONY: build lint deps test lab lab-qemu test-qemu qemu-deps bench paper soak

build:
	$(CARGO) build --workspace --all-targets

lint:
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

deps:
	@command -v $(CARGO) >/dev/null 2>&1 || { \
		echo "deps: cargo is missing: install Rust (https://rustup.rs, or apt-get install cargo)"; exit 1; }
	@missing=""; \
	for dep in $(DEPS); do \
		tool=$${dep%%:*}; pkg=$${dep#*:}; \
		command -v $$tool >/dev/null 2>&1 || missing="$$missing $$pkg"; \
	done; \
	/usr/bin/python3 -c 'import scapy' >/dev/null 2>&1 || missing="$$missing python3-scapy"; \
	command -v freeradius >/dev/null 2>&1 || [ -x /usr/sbin/freeradius ] || missing="$$missing freeradius"; \
	if [ -z "$$missing" ]; then echo "deps: all present"; exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "deps: installing$$missing"; \
		apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(PACKAGES) >/dev/null || exit 1; \
	else \
		echo "deps: missing packages:$$missing"; \
		echo "deps: install them with: sudo apt-get install$$missing (or your distribution's equivalents)"; \
		exit 1; \
	fi

# The router binary is built first: the namespace tests run it as a separate process.
test: deps lint
	$(CARGO) build --workspace --all-targets
	$(CARGO) test --workspace --exclude netns-tests
	$(CARGO) test -p netns-tests -- --test-threads=1

# Long runs: the randomized domain simulation for many seeds (SOAK_SEEDS, each
# three days of fake time), then SOAK_MIGRATIONS live migrations in the lab with
# the routers' memory and state sampled every 100: nothing may grow.
SOAK_SEEDS ?= 200
SOAK_MIGRATIONS ?= 1000
soak: deps
	TAPMIP_SIM_SEEDS=$(SOAK_SEEDS) $(CARGO) test --release -p netns-tests --test pmip_random -- --nocapture
	$(CARGO) build --release --workspace --bins
	target/release/tapmip-scenario soak --migrations $(SOAK_MIGRATIONS)

# Coverage-guided fuzzing (cargo fuzz, nightly toolchain): every target for
# FUZZ_SECONDS, starting from the committed seeds (netns-tests/fuzz/seeds) and
# what earlier runs found (netns-tests/fuzz/corpus, not committed). A crash
# stops the run and leaves its input in netns-tests/fuzz/artifacts/.
FUZZ_SECONDS ?= 60
FUZZ_TARGETS := wire_mh wire_nd wire_ipv4 tunnel control_lines config_files radius_reply virtio_net lma_core mag_core home_agent_core
fuzz:
	@command -v cargo-fuzz >/dev/null 2>&1 || { \
		echo "fuzz: cargo-fuzz is missing: cargo +nightly install cargo-fuzz --locked"; exit 1; }
	cd netns-tests/fuzz && for t in $(FUZZ_TARGETS); do \
		mkdir -p corpus/$$t && \
		cargo +nightly fuzz run $$t corpus/$$t seeds/$$t -- -max_total_time=$(FUZZ_SECONDS) 2>&1 \
			| grep -E 'DONE|SUMMARY|panicked' | sed "s/^/$$t: /"; \
		test "$${PIPESTATUS[0]}" = 0 || exit 1; \
	done

# Benchmarks print figures and their conditions; they assert nothing about speed.
bench: deps
	@for tool in iperf3 strace; do \
		command -v $$tool >/dev/null 2>&1 && continue; \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
			DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$tool >/dev/null || exit 1; \
		else echo "bench: $$tool is missing: sudo apt-get install $$tool"; exit 1; fi; \
	done
	$(CARGO) bench -p lma --bench scale
	$(CARGO) bench -p netns-tests --bench handoff_sim
	$(CARGO) bench -p netns-tests --bench proactive_sim
	$(CARGO) build --release -p router --bin tapmip-router -p lma --bin lma -p mag --bin mag \
		-p tapbridge --bin tapbridge -p netns-tests --bin tapmip-probe --bin tapmip-scenario
	target/release/tapmip-scenario bench-forward

# The paper's testbed in namespaces: the VM attaches, then live-migrates MAG1 -> MAG2
# over a 30 ms WAN while the probes measure; captures are kept in lab-out/.
lab: deps
	$(CARGO) build --workspace --bins
	target/debug/tapmip-lab demo --out lab-out

# The same with vm1 a real QEMU guest (Debian's kernel and busybox, built into
# target/guest), live-migrated by QEMU's own migrate across the emulated WAN.
lab-qemu: deps qemu-deps
	$(CARGO) build --workspace --bins
	target/debug/tapmip-lab demo --qemu --out lab-out-qemu

# QEMU guests migrated by QEMU, as a test (minutes of TCG: not part of make test).
test-qemu: deps qemu-deps
	$(CARGO) build --workspace --bins
	$(CARGO) test -p netns-tests --test qemu_migration -- --ignored --test-threads=1

QEMU_PACKAGES := qemu-system-x86 linux-image-amd64 busybox-static
qemu-deps:
	@missing=""; \
	command -v qemu-system-x86_64 >/dev/null 2>&1 || missing="$$missing qemu-system-x86"; \
	ls /boot/vmlinuz-*-amd64 >/dev/null 2>&1 || missing="$$missing linux-image-amd64"; \
	[ -x /bin/busybox ] || missing="$$missing busybox-static"; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "qemu-deps: installing$$missing"; \
		apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(QEMU_PACKAGES) >/dev/null || exit 1; \
	else \
		echo "qemu-deps: missing packages:$$missing"; \
		echo "qemu-deps: install them with: sudo apt-get install$$missing"; \
		exit 1; \
	fi

# The paper's measurements (Kassahun et al., CloudNet 2014) on the lab: PAPER_RUNS migrations per RTT
# and handover (default 70), PAPER_PRECOPY_MB of pre-copy (default 256); report in target/paper/
# (the committed one: PAPER_ARGS="--out docs/paper"). Stopped half-way, the same command resumes it.
# PAPER_ARGS passes more options (e.g. --pause-ms 300, --out DIR, --replot, --fresh, --dual-stack:
# an IPv4-and-IPv6 VM measured over both families).
paper: deps
	$(CARGO) build --release -p router --bin tapmip-router -p lma --bin lma -p mag --bin mag \
		-p tapbridge --bin tapbridge -p netns-tests --bin tapmip-probe --bin tapmip-mn --bin tapmip-paper
	target/release/tapmip-paper $(PAPER_ARGS)
