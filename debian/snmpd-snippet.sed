# debian/rules runs this over snmpd.conf.d/sipha.conf as the package installs it.
# sipha-agent@.service runs as user sipha, so the AgentX socket must belong to group
# sipha (and /var/agentx too: debian/sipha.tmpfiles, debian/sipha.postinst). A
# snippet that already says so is left as it is.
/^# Owner rw, group rw: put the sipha-agent user/d
s|^agentXPerms .*|agentXPerms     0660 0750 Debian-snmp sipha|
