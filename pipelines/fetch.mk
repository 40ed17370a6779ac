# Download recipes for the paper's full datasets (Amazon Review Data 2018, McAuley lab).
# For users with internet access only: nothing in `make test` or `make demo` uses them.
#   make fetch-cds   make fetch-games   make fetch-books   -> $(FETCH_DIR)/<files>
FETCH_DIR ?= $(DATA_ROOT)/amazon2018-full
AMZ18 = https://datarepo.eng.ucsd.edu/mcauley_group/data/amazon_v2
define fetch_amz
	@mkdir -p $(FETCH_DIR)
	cd $(FETCH_DIR) && for f in categoryFilesSmall/$(1)_5.json.gz metaFiles2/meta_$(1).json.gz; do \
	  b=$$(basename $$f); [ -s $$b ] || { curl -fL --retry 3 -o $$b.part $(AMZ18)/$$f && mv $$b.part $$b; } || exit 1; done
endef
.PHONY: fetch-cds fetch-games fetch-books
fetch-cds:   ; $(call fetch_amz,CDs_and_Vinyl)
fetch-games: ; $(call fetch_amz,Video_Games)
fetch-books: ; $(call fetch_amz,Books)
