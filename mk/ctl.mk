# sipha-ctl: a pair's status and an operator's switchover through SNMP, as an NMS
# sees them (ctl/, built on mib/). Its objects come from the Makefile's generic
# $(B)/obj/%.o rule, which compiles ctl/*.c with INC_ctl; the agent tests run it
# (tests/agent/test_ctl.sh).
INC_ctl = -Ictl $(INC_mib)
CTL_SRC := $(wildcard ctl/*.c)
CTL_OBJ := $(CTL_SRC:%.c=$(B)/obj/%.o)

.PHONY: install-ctl
all: $(B)/sipha-ctl
install: install-ctl

$(B)/sipha-ctl: $(CTL_OBJ) $(B)/libsipha.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS)

install-ctl: $(B)/sipha-ctl
	install -d $(DESTDIR)$(BINDIR)
	install -m 0755 $(B)/sipha-ctl $(DESTDIR)$(BINDIR)/
