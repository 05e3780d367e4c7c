# Debian packaging (debian/) and manual pages (man/*.scd, scdoc).
#   make man        the pages as roff in $(B)/man
#   make deb        the binary package, $(B)/deb/sipha_VERSION_ARCH.deb (dpkg-buildpackage
#                   in a copy of the tree, $(B)/deb/src, so the work tree stays clean)
#   make check-deb  lintian (no error, no warning), `man --warnings` on each page, the
#                   unit checked by systemd-analyze, and the package installed on a
#                   fresh Debian root, run, walked and purged (tests/deb/, root)
# The Debian packages these need are in scripts/deps.d/deb.list.

MAN_SRC := $(wildcard man/*.scd)
MAN_OUT := $(MAN_SRC:man/%.scd=$(B)/man/%)
DEB_OUT = $(B)/deb

.PHONY: man deb check-deb
EXTRA_CHECKS += check-deb

man: $(MAN_OUT)

$(B)/man/%: man/%.scd
	@mkdir -p $(dir $@)
	scdoc < $< > $@.tmp
	@mv $@.tmp $@

# The copy holds what git would commit (tracked and new files, not ignored ones: no
# build directories); outside a git work tree, the tree less .git and build*/.
deb:
	@rm -rf $(DEB_OUT) && mkdir -p $(DEB_OUT)/src
	@set -e; if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then \
	  git ls-files -co --exclude-standard | grep -v '^$(B)/' | \
	    while IFS= read -r f; do if [ -e "$$f" ]; then echo "$$f"; fi; done | \
	    tar --verbatim-files-from -T - -cf - | tar -xf - -C $(DEB_OUT)/src; \
	else \
	  tar --exclude=./.git --exclude='./build*' --exclude='./$(B)' -cf - . | tar -xf - -C $(DEB_OUT)/src; \
	fi
	@echo "dpkg-buildpackage -b -us -uc in $(DEB_OUT)/src (log: $(DEB_OUT)/build.log)"
	@cd $(DEB_OUT)/src && dpkg-buildpackage -b -us -uc > ../build.log 2>&1 \
	  || { tail -n 40 ../build.log; echo "make deb: dpkg-buildpackage failed, see $(DEB_OUT)/build.log"; exit 1; }
	@ls $(DEB_OUT)/sipha_*.deb

check-deb: deb man
	@bash tests/deb/test_package.sh $(DEB_OUT) $(B)/man
	@bash tests/deb/test_install.sh $$(ls $(DEB_OUT)/sipha_*.deb)
