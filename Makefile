# sipha — top-level build. `make` builds build/sipha-agent and build/sipha-trapgen;
# `make run` starts the single-host demo; `make check` runs every test.
# Sources are picked up by directory: a new base/, engine/, monitors/, sipsrv/, etcd/, halink/, mib/ or
# agent/ file joins libsipha.a; a new tests/unit/test_*.c becomes a unit test binary.
# Each layer compiles with its own include path (itself and the layers below it, see
# ARCHITECTURE.md), so an include against the direction fails to build.

PREFIX ?= /usr/local
DESTDIR ?=
BINDIR = $(PREFIX)/bin
DATADIR = $(PREFIX)/share/sipha
SYSCONFDIR ?= /etc
MIBDIR ?= $(PREFIX)/share/snmp/mibs

CC ?= cc
WARN = -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes
CFLAGS ?= -O2 -g
PKG_CFLAGS := $(shell pkg-config --cflags libxml-2.0 libcurl 2>/dev/null)
# What each layer may include, bottom up (the layer's own folder first).
INC_base     = -Ibase
INC_engine   = -Iengine $(INC_base)
INC_monitors = -Imonitors $(INC_base)
INC_sipsrv   = -Isipsrv $(INC_base)
INC_etcd     = -Ietcd $(INC_base)
INC_halink   = -Ihalink $(INC_engine)
INC_mib      = -Imib -Imonitors -Ihalink $(INC_engine)
INC_agent    = -Iagent -Isipsrv -Ietcd $(INC_mib)
INC_trapgen  = -Itrapgen $(INC_mib)
INC_tests    = -Itests/unit -Itrapgen $(INC_agent)
INCLUDES = $(INC_tests)
layer_of = $(firstword $(subst /, ,$(1)))
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE $(WARN) $(CFLAGS) -MMD -MP
ALL_CFLAGS += $(if $(filter agent/main.c,$<),-DSIPHA_VERSION='"$(shell (git describe --tags --match 'v[0-9]*' 2>/dev/null || cat VERSION) | sed 's/^v//')"')
# libcurl and libxml2 are not linked: base/curl_lazy.c loads libcurl with dlopen on
# first use, agent/xml_lazy.c libxml2 for the length of a configuration load (only their
# headers come from pkg-config above). dlopen is in libc since glibc 2.34.
# yajl: the event-driven JSON parser of sipsrv/ (a Kamailio ul.dump of 10,000 contacts
# is ~9 MB, parsed as it arrives with memory for one contact, never as a whole tree);
# etcd/ parses its small, bounded replies as a tree with yajl_tree.
LIBS = -lnetsnmpagent -lnetsnmp $(shell pkg-config --libs libmnl yajl 2>/dev/null) -lcrypto -lm

B ?= build
LIB_SRC := $(wildcard base/*.c engine/*.c monitors/*.c sipsrv/*.c etcd/*.c halink/*.c mib/*.c) \
           $(filter-out agent/main.c,$(wildcard agent/*.c)) \
           $(filter-out trapgen/trapgen_main.c,$(wildcard trapgen/*.c))
LIB_OBJ := $(LIB_SRC:%.c=$(B)/obj/%.o)
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(B)/tests/%)
FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)

.PHONY: all deps check check-unit check-asan check-valgrind check-fuzz check-agent check-hosts \
        run lint install clean mibs bench graph
all: $(B)/sipha-agent $(B)/sipha-trapgen

$(B)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(INC_$(call layer_of,$<)) $(PKG_CFLAGS) -c $< -o $@

$(B)/libsipha.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(B)/sipha-agent: $(B)/obj/agent/main.o $(B)/libsipha.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS)

$(B)/sipha-trapgen: $(B)/obj/trapgen/trapgen_main.o $(B)/libsipha.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS)

$(B)/tests/%: $(B)/obj/tests/unit/%.o $(B)/libsipha.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS) -lcmocka

unit-bins: $(UNIT_BIN)

# Installs missing Debian packages when run as root; otherwise only reports them.
deps:
	@scripts/deps.sh

# IETF base MIBs for smilint and snmptrapd (Debian keeps them out of main).
mibs:
	@scripts/ietf-mibs.sh build/ietf-mibs

lint: mibs
	@scripts/lint.sh

# docs/architecture.svg (folders) and docs/architecture-files.svg (modules) from the
# includes, with Graphviz; not part of `make check`. lint fails when the layer edges in
# docs/architecture.dot differ from the tree's (include counts are not compared).
graph:
	@scripts/include_graph.py graph docs

check: deps
	$(MAKE) all unit-bins
	$(MAKE) check-unit
	$(MAKE) check-asan
	$(MAKE) check-valgrind
	$(MAKE) check-fuzz
	$(MAKE) mibs
	$(MAKE) lint
	$(MAKE) check-agent
	$(MAKE) check-hosts
	@set -e; for s in $(EXTRA_CHECKS); do $(MAKE) $$s; done
	@echo "make check: all suites passed"

check-unit: unit-bins
	@tests/run-unit.sh $(B)/tests

check-asan:
	$(MAKE) B=build-asan CFLAGS="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" \
	        LDFLAGS="-fsanitize=address,undefined" unit-bins
	@ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 tests/run-unit.sh build-asan/tests

# The fuzz targets built as plain programs under ASan+UBSan, run over their corpus
# (with clang's libFuzzer: see the header of each tests/fuzz/fuzz_*.c). Each
# tests/fuzz/fuzz_NAME.c is built with FUZZ_DEPS_NAME (+ FUZZ_LIBS_NAME) and run over
# tests/fuzz/corpus-NAME/ (sip_parse keeps tests/fuzz/corpus/). Binaries go to
# $(FUZZ_B), build-asan/fuzz unless given: `make FUZZ_B=build-hl/fuzz check-fuzz`.
FUZZ_B ?= $(if $(filter build,$(B)),build-asan,$(B))/fuzz
FUZZ_DEPS_sip_parse = monitors/sip_parse.c
FUZZ_CORPUS_sip_parse = tests/fuzz/corpus
FUZZ_DEPS_hl_wire = halink/hl_wire.c
FUZZ_LIBS_hl_wire = -lcrypto
FUZZ_DEPS_ss_json = sipsrv/ss_json.c sipsrv/ss_json_hint.c sipsrv/ss_json_req.c base/errbuf.c
FUZZ_LIBS_ss_json = -lyajl
FUZZ_DEPS_etcd_wire = etcd/etcd_wire.c etcd/etcd_contact_codec.c base/errbuf.c
FUZZ_LIBS_etcd_wire = -lyajl
fuzz_corpus = $(or $(FUZZ_CORPUS_$(1)),tests/fuzz/corpus-$(1))
fuzz_one = $(CC) -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=address,undefined -fno-sanitize-recover=all \
  $(INCLUDES) $(PKG_CFLAGS) tests/fuzz/fuzz_$(1).c tests/fuzz/corpus_main.c $(FUZZ_DEPS_$(1)) \
  -o $(FUZZ_B)/fuzz_$(1) $(FUZZ_LIBS_$(1)) && \
  $(FUZZ_B)/fuzz_$(1) $(call fuzz_corpus,$(1))
check-fuzz:
	@mkdir -p $(FUZZ_B)
	@set -e; $(foreach f,$(FUZZ_SRC),$(call fuzz_one,$(patsubst tests/fuzz/fuzz_%.c,%,$(f)));)

check-valgrind: unit-bins
	@VALGRIND=1 tests/run-unit.sh $(B)/tests

check-agent: all mibs
	@tests/run-agent.sh

check-hosts: all mibs
	@tests/run-hosts.sh

run: deps
	$(MAKE) all mibs
	@scripts/demo.sh

bench: all mibs
	@bench/run.sh

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MIBDIR) $(DESTDIR)$(DATADIR) \
	           $(DESTDIR)$(SYSCONFDIR)/sipha $(DESTDIR)$(SYSCONFDIR)/snmp/snmpd.conf.d
	install -m 0755 $(B)/sipha-agent $(B)/sipha-trapgen $(DESTDIR)$(BINDIR)/
	install -m 0644 mib/SIPHA-MIB.txt $(DESTDIR)$(MIBDIR)/
	install -m 0644 agent/sipha-config.rng $(DESTDIR)$(DATADIR)/
	install -d $(DESTDIR)$(DATADIR)/kamailio
	install -m 0644 kamailio/sipha.cfg $(DESTDIR)$(DATADIR)/kamailio/
	install -m 0644 agent/sipha.example.xml $(DESTDIR)$(SYSCONFDIR)/sipha/sipha.example.xml
	install -m 0600 snmpd.conf.d/sipha.conf $(DESTDIR)$(SYSCONFDIR)/snmp/snmpd.conf.d/sipha.conf
	sed 's|@BINDIR@|$(BINDIR)|' agent/sipha-agent@.service > $(DESTDIR)$(DATADIR)/sipha-agent@.service
	chmod 0644 $(DESTDIR)$(DATADIR)/sipha-agent@.service
	@# The unit where systemd finds it: PREFIX/lib/systemd/system for /usr and
	@# /usr/local (both on systemd's unit path), /etc/systemd/system for any other
	@# PREFIX; SYSTEMDUNITDIR overrides (the Debian package: /lib/systemd/system).
	install -d $(DESTDIR)$(or $(SYSTEMDUNITDIR),$(if $(filter /usr /usr/local,$(PREFIX)),$(PREFIX)/lib/systemd/system,/etc/systemd/system))
	install -m 0644 $(DESTDIR)$(DATADIR)/sipha-agent@.service \
	  $(DESTDIR)$(or $(SYSTEMDUNITDIR),$(if $(filter /usr /usr/local,$(PREFIX)),$(PREFIX)/lib/systemd/system,/etc/systemd/system))/
	@# The state directory; on this machine (no DESTDIR) also the system user that
	@# owns it, snmpd's /var/agentx given to its group (snmpd.conf.d/sipha.conf), a
	@# MIB link where Net-SNMP's tools look when MIBDIR is not on their path
	@# (/usr/share/snmp/mibs on Debian), and systemd told of the new unit.
	@set -e; if [ -n "$(DESTDIR)" ]; then install -d -m 0700 $(DESTDIR)/var/lib/sipha; else \
	  getent passwd sipha >/dev/null || { echo "useradd --system sipha"; \
	    useradd --system $$(getent group sipha >/dev/null && echo "-g sipha" || echo --user-group) \
	            --home-dir /var/lib/sipha --no-create-home \
	            --shell /usr/sbin/nologin --comment "sipha HA subagent" sipha; }; \
	  install -d -m 0700 -o sipha -g sipha /var/lib/sipha; \
	  install -d -m 0750 -o root -g sipha /var/agentx; \
	  mibs=$$(net-snmp-config --default-mibdirs 2>/dev/null | tr ':' '\n' | grep -v "^$$HOME" | head -n 1); \
	  mibs=$${mibs:-/usr/share/snmp/mibs}; \
	  case ":$$(net-snmp-config --default-mibdirs 2>/dev/null):" in *":$(MIBDIR):"*) ;; \
	    *) echo "ln -sf $(MIBDIR)/SIPHA-MIB.txt $$mibs/"; install -d $$mibs; \
	       ln -sf $(MIBDIR)/SIPHA-MIB.txt $$mibs/SIPHA-MIB.txt ;; esac; \
	  if [ -d /run/systemd/system ]; then systemctl daemon-reload; fi; \
	fi

clean:
	rm -rf build build-asan

# Parts with targets of their own (packaging, NMS integration, tools) keep them in
# mk/<part>.mk; a part adds its test target to EXTRA_CHECKS to join `make check`.
EXTRA_CHECKS :=
include $(sort $(wildcard mk/*.mk))

-include $(shell find $(B)/obj -name "*.d" 2>/dev/null)
