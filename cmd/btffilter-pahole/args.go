package main

import (
	"errors"
	"fmt"
	"strings"
)

// What pahole's command line says, read the way pahole's own parser (argp,
// getopt_long) reads it: short options may be clustered (-Jj), an option's
// argument may be attached (-j4, --jobs=4) or, when the argument is
// required, the next word (--btf_base vmlinux); a long option may be
// abbreviated to a unique prefix; "--" ends the options. The tables are
// those of pahole 1.24 and 1.32 (pahole --help), which are what Debian
// bookworm and sid build kernels with.

// argKind is how an option takes an argument.
type argKind int

const (
	noArg argKind = iota
	requiredArg
	optionalArg // attached only: -j4, --jobs=4
)

// longOptions are pahole's long options and how each takes its argument.
var longOptions = map[string]argKind{
	"anon_include": noArg, "bit_holes": requiredArg, "btf_attributes": noArg,
	"btf_base": requiredArg, "btf_encode": noArg, "btf_encode_detached": requiredArg,
	"btf_encode_force": noArg, "btf_features": requiredArg, "btf_features_strict": requiredArg,
	"btf_gen_all": noArg, "btf_gen_floats": noArg, "btf_gen_optimized": noArg,
	"cacheline_size": requiredArg, "class_name": requiredArg, "class_name_len": noArg,
	"classes_as_structs": noArg, "compile": noArg, "contains": requiredArg,
	"contains_enumerator": requiredArg, "count": requiredArg, "ctf_encode": noArg,
	"cu_exclude": requiredArg, "decl_exclude": requiredArg, "defined_in": noArg,
	"devel_version": noArg, "encode_btf_global_vars": noArg, "exclude": requiredArg,
	"expand_pointers": noArg, "expand_types": noArg, "features": requiredArg,
	"find_pointers_to": requiredArg, "first_obj_only": noArg, "fixup_silly_bitfields": noArg,
	"flat_arrays": noArg, "format_path": requiredArg, "hashbits": requiredArg,
	"header_type": requiredArg, "help": noArg, "hex": noArg, "hole_size_ge": requiredArg,
	"holes": requiredArg, "jobs": optionalArg, "kabi_prefix": requiredArg,
	"lang": requiredArg, "lang_exclude": requiredArg, "nested_anon_include": noArg,
	"nr_definitions": noArg, "nr_members": noArg, "nr_methods": noArg,
	"numeric_version": noArg, "packable": noArg, "packed": noArg,
	"padding_ge": requiredArg, "prefix_filter": requiredArg, "prettify": requiredArg,
	"ptr_table_stats": noArg, "quiet": noArg, "range": requiredArg, "recursive": noArg,
	"rel_offset": noArg, "reorganize": noArg, "reproducible_build": noArg,
	"running_kernel_vmlinux": noArg, "seek_bytes": requiredArg, "separator": requiredArg,
	"show_decl_info": noArg, "show_first_biggest_size_base_type_member": noArg,
	"show_only_data_members": noArg, "show_private_classes": noArg,
	"show_reorg_steps": noArg, "size_bytes": requiredArg, "sizes": noArg,
	"skip": requiredArg, "skip_emitting_atomic_typedefs": noArg,
	"skip_encoding_btf_decl_tag": noArg, "skip_encoding_btf_enum64": noArg,
	"skip_encoding_btf_inconsistent_proto": noArg, "skip_encoding_btf_type_tag": noArg,
	"skip_encoding_btf_vars": noArg, "skip_missing": noArg, "sort": noArg,
	"structs": noArg, "supported_btf_features": noArg, "suppress_aligned_attribute": noArg,
	"suppress_force_paddings": noArg, "suppress_packed": noArg, "unions": noArg,
	"usage": noArg, "verbose": noArg, "version": noArg,
	"with_embedded_flexible_array": noArg, "with_flexible_array": noArg,
	"word_size": requiredArg,
}

// shortArgs are the short options that take an argument; every other letter
// is a flag.
var shortArgs = map[byte]argKind{
	'B': requiredArg, 'c': requiredArg, 'C': requiredArg, 'D': requiredArg,
	'f': requiredArg, 'F': requiredArg, 'H': requiredArg, 'i': requiredArg,
	't': requiredArg, 'w': requiredArg, 'x': requiredArg, 'X': requiredArg,
	'y': requiredArg, 'z': requiredArg, 'j': optionalArg,
}

// queries are the options with which pahole prints something about itself
// and exits, whatever else is asked.
var queries = map[string]bool{"help": true, "usage": true, "version": true, "supported_btf_features": true}

// call is one pahole command line, read.
type call struct {
	// encode: -J/--btf_encode or --btf_encode_detached, and no query.
	encode bool
	// detached is the --btf_encode_detached file; the inputs are then
	// left as they were.
	detached string
	// base is the --btf_base file.
	base string
	// files are the inputs: the ELF files pahole reads (and, with -J
	// and no detached file, writes).
	files []string
}

// errAmbiguous is a long option prefix that matches several options.
var errAmbiguous = errors.New("ambiguous")

// resolveLong returns the long option name abbreviates, as getopt_long
// does: an exact name, or the one option it is a prefix of.
func resolveLong(name string) (string, argKind, error) {
	if k, ok := longOptions[name]; ok {
		return name, k, nil
	}
	found := ""
	for opt := range longOptions {
		if strings.HasPrefix(opt, name) {
			if found != "" {
				return "", noArg, errAmbiguous
			}
			found = opt
		}
	}
	if found == "" {
		// An option of a newer pahole: pahole accepted it, so it is read
		// as a flag. Had it taken its argument as the next word, that word
		// becomes an input the filter then refuses, with its name.
		return name, noArg, nil
	}
	return found, longOptions[found], nil
}

// parseCall reads pahole's arguments. An error is a command line pahole
// itself refuses, which the caller passes to pahole unexamined.
func parseCall(args []string) (call, error) {
	var c call
	encodeFlag, query := false, false
	long := func(name, value string, hasValue bool, next func() (string, bool)) error {
		opt, kind, err := resolveLong(name)
		if err != nil {
			return fmt.Errorf("--%s: %w", name, err)
		}
		switch kind {
		case noArg:
			if hasValue {
				return fmt.Errorf("--%s takes no argument", opt)
			}
		case requiredArg:
			if !hasValue {
				v, ok := next()
				if !ok {
					return fmt.Errorf("--%s needs an argument", opt)
				}
				value = v
			}
		}
		switch {
		case queries[opt]:
			query = true
		case opt == "btf_encode":
			encodeFlag = true
		case opt == "btf_encode_detached":
			c.detached = value
		case opt == "btf_base":
			c.base = value
		}
		return nil
	}
	for i := 0; i < len(args); i++ {
		a := args[i]
		next := func() (string, bool) {
			if i+1 >= len(args) {
				return "", false
			}
			i++
			return args[i], true
		}
		switch {
		case a == "--":
			c.files = append(c.files, args[i+1:]...)
			i = len(args)
		case strings.HasPrefix(a, "--"):
			name, value, hasValue := strings.Cut(a[2:], "=")
			if err := long(name, value, hasValue, next); err != nil {
				return call{}, err
			}
		case len(a) > 1 && a[0] == '-':
			for j := 1; j < len(a); j++ {
				switch a[j] {
				case 'J':
					encodeFlag = true
				case '?':
					query = true
				}
				kind := shortArgs[a[j]]
				if kind == noArg {
					continue
				}
				// The rest of the word is the argument; a required one
				// may be the next word instead.
				if j+1 == len(a) && kind == requiredArg {
					if _, ok := next(); !ok {
						return call{}, fmt.Errorf("-%c needs an argument", a[j])
					}
				}
				break
			}
		default:
			c.files = append(c.files, a)
		}
	}
	c.encode = !query && (encodeFlag || c.detached != "")
	return c, nil
}
