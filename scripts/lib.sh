# shellcheck shell=bash
# Shared shell functions for the scripts in this directory.
# Source it (". scripts/lib.sh"); it defines functions and variables only.
#
# Archive URIs are never written here: they are read from the machine's own
# deb822 apt configuration, so the scripts follow whatever mirror or proxy the
# machine is set up with.

BF_CACHE=${BTFFILTER_CACHE:-/var/cache/btffilter}
BF_APT_SOURCES=${BTFFILTER_APT_SOURCES:-/etc/apt/sources.list.d/debian.sources}
BF_KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg

# bf_step prints one progress line.
bf_step() { printf '==> %s\n' "$*"; }

# bf_note prints an indented detail line under a step.
bf_note() { printf '    %s\n' "$*"; }

# bf_die prints an error and exits.
bf_die() {
	printf 'error: %s\n' "$*" >&2
	exit 1
}

# bf_need_tools SCRIPT TOOL... exits with one line naming every TOOL that is
# not on PATH, for SCRIPT's error message.
bf_need_tools() {
	local script=$1 t missing=()
	shift
	for t in "$@"; do
		command -v "$t" >/dev/null 2>&1 || missing+=("$t")
	done
	if ((${#missing[@]})); then
		echo "$script: missing tools: ${missing[*]}; run scripts/setup.sh first" >&2
		exit 1
	fi
}

# bf_reproducible fixes what could leak the time, the locale or the umask
# into a build.
bf_reproducible() {
	export SOURCE_DATE_EPOCH=1672531200 # 2023-01-01T00:00:00Z
	export LC_ALL=C TZ=UTC
	umask 022
}

# bf_suite_uri SUITE prints the first URI of the deb822 stanza (Types: deb)
# whose Suites field lists SUITE exactly. Fails when there is none.
bf_suite_uri() {
	local suite=$1 uri
	[[ -r $BF_APT_SOURCES ]] || bf_die "$BF_APT_SOURCES: not readable (needed to find the archive URI of $suite)"
	uri=$(awk -v want="$suite" '
		function flush() {
			if (index(" " types " ", " deb ") && index(" " suites " ", " " want " ") && uris != "" && enabled != "no") {
				split(uris, u, " ")
				print u[1]
				found = 1
				exit
			}
			types = ""; suites = ""; uris = ""; enabled = ""; key = ""
		}
		/^#/ { next }
		/^[ \t]*$/ { flush(); next }
		/^[ \t]/ {
			# Continuation line of a multi-line field.
			if (key != "") { v = $0; gsub(/^[ \t]+|[ \t]+$/, "", v); fields[key] = fields[key] " " v; assign() }
			next
		}
		{
			i = index($0, ":")
			if (i == 0) next
			key = tolower(substr($0, 1, i - 1))
			v = substr($0, i + 1); gsub(/^[ \t]+|[ \t]+$/, "", v)
			fields[key] = v
			assign()
		}
		function assign() {
			if (key == "types") types = fields[key]
			else if (key == "suites") suites = fields[key]
			else if (key == "uris") uris = fields[key]
			else if (key == "enabled") enabled = tolower(fields[key])
		}
		END { if (!found) flush() }
	' "$BF_APT_SOURCES")
	[[ -n $uri ]] || bf_die "$BF_APT_SOURCES: no 'Types: deb' stanza lists suite $suite"
	printf '%s\n' "${uri%/}"
}

# bf_private_apt NAME ARCH LINE... prepares a private apt configuration in
# $BF_CACHE/apt/NAME whose sources list holds the given one-line-style LINEs,
# and sets the array BF_APT to the apt options that select it. The machine's
# own sources, package lists, dpkg status and pinning are not used or touched;
# its other settings (proxies, timeouts) still apply.
bf_private_apt() {
	local name=$1 arch=$2 dir
	shift 2
	dir=$BF_CACHE/apt/$name
	mkdir -p "$dir/lists/partial" "$dir/cache/archives/partial"
	[[ -e $dir/status ]] || : >"$dir/status"
	local want
	want=$(printf '%s\n' "$@")
	# Rewriting an unchanged list would be harmless, but a changed one must
	# invalidate the downloaded indexes so they are refreshed.
	if [[ ! -f $dir/sources.list ]] || [[ $(<"$dir/sources.list") != "$want" ]]; then
		printf '%s\n' "$want" >"$dir/sources.list.tmp"
		mv "$dir/sources.list.tmp" "$dir/sources.list"
		rm -f "$dir/lists/"*_Packages* "$dir/lists/"*Release* 2>/dev/null || true
	fi
	BF_APT=(
		-o "APT::Architecture=$arch"
		-o "APT::Architectures=$arch"
		-o "Dir::Etc::SourceList=$dir/sources.list"
		-o "Dir::Etc::SourceParts=/dev/null"
		-o "Dir::Etc::Preferences=/dev/null"
		-o "Dir::Etc::PreferencesParts=/dev/null"
		-o "Dir::State::Lists=$dir/lists"
		-o "Dir::State::status=$dir/status"
		-o "Dir::Cache=$dir/cache"
		-o "Dir::Cache::pkgcache=$dir/cache/pkgcache.bin"
		-o "Dir::Cache::srcpkgcache=$dir/cache/srcpkgcache.bin"
	)
	BF_APT_DIR=$dir
}

# bf_apt_has_lists reports whether the private configuration selected by
# BF_APT has downloaded package indexes.
bf_apt_has_lists() {
	compgen -G "$BF_APT_DIR/lists/*_Packages*" >/dev/null
}

# bf_apt_update refreshes the indexes of the configuration in BF_APT.
bf_apt_update() {
	apt-get "${BF_APT[@]}" -qq update >/dev/null || bf_die "apt-get update failed for $BF_APT_DIR/sources.list"
}

# bf_apt_field PKG[=VER] FIELD prints one control field of the candidate (or
# the given version) of PKG, using the options in BF_APT.
bf_apt_field() {
	apt-cache "${BF_APT[@]}" show --no-all-versions "$1" 2>/dev/null |
		awk -v f="$2" 'BEGIN { f = tolower(f) ":" } tolower($1) == f { sub(/^[^:]*:[ \t]*/, ""); print; exit }'
}

# bf_deb_file PKG VER ARCH prints the file name apt-get download gives a deb.
bf_deb_file() {
	local ver=${2//:/%3a}
	printf '%s_%s_%s.deb\n' "$1" "$ver" "$3"
}

# bf_download PKG VER ARCH DESTDIR fetches PKG=VER into DESTDIR unless a
# file with the index's SHA256 is already there. apt-get download checks the
# hash itself; a file found in DESTDIR is checked against the index here.
# The download goes to a temporary directory and is renamed into place, so an
# interrupted run never leaves a partial .deb under the final name.
bf_download() {
	local pkg=$1 ver=$2 arch=$3 dest=$4 file sha have tmp
	file=$(bf_deb_file "$pkg" "$ver" "$arch")
	sha=$(bf_apt_field "$pkg=$ver" SHA256)
	[[ -n $sha ]] || bf_die "$pkg=$ver: no SHA256 in the package index"
	mkdir -p "$dest"
	if [[ -f $dest/$file ]]; then
		have=$(sha256sum "$dest/$file" | cut -d' ' -f1)
		if [[ $have == "$sha" ]]; then
			bf_note "reuse $dest/$file (sha256 ok)"
			return 0
		fi
		bf_note "$dest/$file: sha256 $have differs from the index ($sha): downloading again"
		rm -f "$dest/$file"
	fi
	tmp=$(mktemp -d "$dest/.download.XXXXXX")
	# apt downloads as the unprivileged _apt user when the target allows it.
	chown _apt "$tmp" 2>/dev/null || true
	if ! (cd "$tmp" && apt-get "${BF_APT[@]}" -qq download "$pkg=$ver" >/dev/null); then
		rm -rf "$tmp"
		bf_die "apt-get download $pkg=$ver failed"
	fi
	[[ -f $tmp/$file ]] || {
		rm -rf "$tmp"
		bf_die "apt-get download $pkg=$ver did not produce $file"
	}
	mv "$tmp/$file" "$dest/$file"
	rm -rf "$tmp"
	bf_note "downloaded $dest/$file ($(du -h "$dest/$file" | cut -f1))"
}

# bf_apt_bookworm ARCH selects (in BF_APT) a private configuration for
# bookworm and bookworm-security, package indexes only, for ARCH.
bf_apt_bookworm() {
	local arch=$1 main sec opts
	main=$(bf_suite_uri bookworm)
	sec=$(bf_suite_uri bookworm-security)
	opts="arch=$arch signed-by=$BF_KEYRING target=Packages"
	bf_private_apt "bookworm-$arch" "$arch" \
		"deb [$opts] $main bookworm main" \
		"deb [$opts] $sec bookworm-security main"
}

# bf_apt_sid ARCH selects (in BF_APT) a private configuration for sid, on
# the archive URI that this machine uses for bookworm.
bf_apt_sid() {
	local arch=$1 main
	main=$(bf_suite_uri bookworm)
	bf_private_apt "sid-$arch" "$arch" \
		"deb [arch=$arch signed-by=$BF_KEYRING target=Packages] $main sid main"
}

# bf_apt_ensure_lists downloads the indexes of the configuration in BF_APT
# when it has none yet.
bf_apt_ensure_lists() {
	if ! bf_apt_has_lists; then
		bf_note "apt-get update of $BF_APT_DIR"
		bf_apt_update
	fi
}
