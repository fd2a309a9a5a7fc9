# article_analytics: PGXS build, plus the project's own targets.
#
#   make / make install   build and install the extension (PGXS)
#   make demo             set up everything and show what the extension finds
#   make test             set up everything and run every test
#   make bench            speed, side by side with PostgreSQL's own tools
#   make load             8 concurrent clients under pgbench
#   make eval             entity tagging accuracy on every language's dev sets, beside OpenNLP
#   make model            retrain the shipped entity models from ../shared (LANG=es: one)
#   make unit             the core's unit tests only (no PostgreSQL needed)
#   make fuzz             a longer libFuzzer campaign on the tokenizer

EXTENSION = article_analytics
EXTVERSION = $(shell grep default_version $(EXTENSION).control | sed -e "s/default_version[[:space:]]*=[[:space:]]*'\([^']*\)'/\1/")

MODULE_big = $(EXTENSION)
CORE_SRCS = $(sort $(wildcard src/core/*.c))
GLUE_SRCS = $(sort $(wildcard src/*.c))
OBJS = $(GLUE_SRCS:.c=.o) $(CORE_SRCS:.c=.o)

# The install script is assembled from src/sql/*.sql in name order, and
# the upgrade script from the last release from src/sql/upgrade/ and the
# parts that replace or add objects in place.  The install scripts of
# released versions are committed in sql/ as they were released (0.1), so
# that CREATE EXTENSION ... VERSION '0.1' and the upgrade can be tested;
# when a version is released its built scripts are committed too.
SQL_PARTS = $(sort $(wildcard src/sql/*.sql))
AA_INSTALL_SCRIPT = sql/$(EXTENSION)--$(EXTVERSION).sql
AA_UPGRADE_0_1 = sql/$(EXTENSION)--0.1--$(EXTVERSION).sql
AA_UPGRADE_0_1_PARTS = src/sql/upgrade/0.1--0.2.sql src/sql/31_entity_aliases_data.sql \
	src/sql/51_refresh_access.sql src/sql/52_refresh.sql src/sql/53_views.sql src/sql/54_citus.sql
DATA = $(AA_INSTALL_SCRIPT) $(AA_UPGRADE_0_1) sql/$(EXTENSION)--0.1.sql
DATA_built =

REGRESS = $(filter-out $(EXTENSION)--%,$(basename $(notdir $(wildcard sql/*.sql))))
REGRESS_OPTS = --load-extension=$(EXTENSION)

PG_CPPFLAGS = -I$(srcdir)/src
# make test passes AA_WERROR=-Werror: warnings are errors there.
PG_CFLAGS = -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers -Wno-sign-compare $(AA_WERROR)
SHLIB_LINK = -lstemmer -licuuc -lxxhash -lm

EXTRA_CLEAN = $(AA_INSTALL_SCRIPT) test/build

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

all: $(AA_INSTALL_SCRIPT) $(AA_UPGRADE_0_1)

# PGXS does not track headers; every object depends on all of ours.
$(OBJS): $(wildcard src/*.h src/core/*.h)

# The entity models (one per language, src/model/ner_LANG.model) are
# installed beside the extension's scripts, where the server's share path
# finds them.  Each is written under a temporary name in the same directory
# and renamed over the old file, so that a running backend never sees a
# half-written model: each sees the old file or the new one, and reads the
# new one at its next call.
NER_LANGUAGES = en es nl pt de
NER_MODEL_DIR = $(DESTDIR)$(datadir)/extension
install: install-ner-model
install-ner-model:
	$(MKDIR_P) '$(NER_MODEL_DIR)'
	for lang in $(NER_LANGUAGES); do \
		target='$(NER_MODEL_DIR)/$(EXTENSION)_ner_'$$lang.model; \
		tmp="$$target.tmp.$$$$" && \
		$(INSTALL_DATA) src/model/ner_$$lang.model "$$tmp" && \
		{ mv -f "$$tmp" "$$target" || { rm -f "$$tmp"; exit 1; }; } || exit 1; \
	done

$(AA_INSTALL_SCRIPT): $(SQL_PARTS) $(EXTENSION).control
	cat $(SQL_PARTS) > $@

$(AA_UPGRADE_0_1): $(AA_UPGRADE_0_1_PARTS) $(EXTENSION).control
	cat $(AA_UPGRADE_0_1_PARTS) > $@

# ---------------------------------------------------------------------------
# The core's unit tests: plain C, no PostgreSQL, built under ASan and UBSan.
UNIT_CC ?= gcc
UNIT_CFLAGS = -std=gnu99 -g -O1 -Wall -Wextra -Werror -Wno-unused-parameter \
	-fsanitize=address,undefined -fno-sanitize-recover=all -Isrc -Isrc/core
UNIT_LIBS = -lstemmer -licuuc -lxxhash -lm
UNIT_TESTS = $(patsubst test/unit/%.c,test/build/%,$(sort $(wildcard test/unit/test_*.c)))

test/build/%: test/unit/%.c $(CORE_SRCS) $(wildcard src/core/*.h test/unit/*.h)
	@mkdir -p test/build
	$(UNIT_CC) $(UNIT_CFLAGS) -o $@ $< $(CORE_SRCS) $(UNIT_LIBS)

unit: $(UNIT_TESTS)
	@bash test/run_unit.sh $(UNIT_TESTS)

# libFuzzer targets: test/fuzz/fuzz_*.c, built with clang.
FUZZ_TARGETS = $(patsubst test/fuzz/%.c,test/build/%,$(sort $(wildcard test/fuzz/fuzz_*.c)))
FUZZ_SECONDS ?= 300

test/build/fuzz_%: test/fuzz/fuzz_%.c $(CORE_SRCS)
	@mkdir -p test/build
	clang -g -O1 -fsanitize=fuzzer,address,undefined -Isrc -Isrc/core -o $@ $< $(CORE_SRCS) $(UNIT_LIBS)

fuzz: $(FUZZ_TARGETS)
	@for t in $(FUZZ_TARGETS); do \
		mkdir -p test/build/corpus-$$(basename $$t); \
		$$t -max_total_time=$(FUZZ_SECONDS) -max_len=4096 test/build/corpus-$$(basename $$t) test/fuzz/seeds || exit 1; \
	done

# ---------------------------------------------------------------------------
# The two README commands, and the benchmark.  Each installs what it needs.
demo:
	@bash test/setup.sh
	@bash test/with_cluster.sh bash test/demo.sh

test:
	@bash test/run_all.sh

bench:
	@bash test/setup.sh
	@bash test/with_cluster.sh bash test/bench.sh

# 8 pgbench clients for two minutes: inserts, aa_entities, % look-ups and
# aa_refresh calls (AA_LOAD_SECONDS, AA_LOAD_CLIENTS).
load:
	@bash test/setup.sh
	@bash test/with_cluster.sh bash test/load.sh

eval:
	@AA_EXTRA_PACKAGES=opennlp AA_SETUP_PACKAGES_ONLY=1 bash test/setup.sh
	@bash test/eval_ner.sh ../shared
	@bash test/eval_ner_lang.sh ../shared

# Rebuilds the entity models src/model/ner_LANG.model from ../shared (see
# src/tools/make_model.sh): every language, or one with `make model
# LANG=es` (en, es, nl, pt, de); the same data gives the same bytes.  LANG
# counts only when given on the command line (the environment's LANG is
# the locale), and the tools then run in the C.UTF-8 locale.
ifeq ($(origin LANG),command line)
MODEL_LANGUAGES = $(LANG)
else
MODEL_LANGUAGES = $(NER_LANGUAGES)
endif
model:
	@LANG=C.UTF-8 sh src/tools/make_model.sh ../shared $(MODEL_LANGUAGES)

.PHONY: demo test bench load eval model unit fuzz install-ner-model
