# mk/nms.mk — NMS integration (nms/): the Prometheus snmp_exporter module and alert
# rules, the SNMPTT configuration and the Zabbix template, each tested against the real
# tool (tests/nms/; Debian packages in scripts/deps.d/nms.list).
#   make check-nms     runs tests/nms/run.sh (part of `make check` through EXTRA_CHECKS)
#   make nms-snmp-yml  regenerates nms/prometheus/snmp.yml from generator.yml with
#                      Debian's prometheus-snmp-generator (after a change of the MIB or
#                      of generator.yml; check-nms fails until it is done)

.PHONY: check-nms nms-snmp-yml

check-nms: all mibs
	@BUILD=$(abspath $(B)) tests/nms/run.sh

nms-snmp-yml: mibs
	cd nms/prometheus && MIBDIRS=$(CURDIR)/build/ietf-mibs:$(CURDIR)/mib MIBS= \
	  prometheus-snmp-generator --fail-on-parse-errors generate -o snmp.yml

EXTRA_CHECKS += check-nms
