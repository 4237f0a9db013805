package btf_test

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/btffilter/btffilter/filter/btf"
	"github.com/btffilter/btffilter/filter/btf/btftest"
)

func TestRoundTripEveryKind(t *testing.T) {
	for _, order := range []binary.ByteOrder{binary.LittleEndian, binary.BigEndian} {
		t.Run(order.String(), func(t *testing.T) {
			s := everyKind(order)
			raw := s.Encode()
			if len(raw) != s.EncodedLen() {
				t.Fatalf("EncodedLen %d, encoded %d bytes", s.EncodedLen(), len(raw))
			}
			got, err := btf.ValidateBlob(raw, nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(got.Types) != int(btf.MaxKind) {
				t.Fatalf("decoded %d types, want %d", len(got.Types), btf.MaxKind)
			}
			seen := map[btf.Kind]bool{}
			for i := range got.Types {
				seen[got.Types[i].Kind()] = true
			}
			for k := btf.KindInt; k <= btf.MaxKind; k++ {
				if !seen[k] {
					t.Errorf("no %v decoded", k)
				}
			}
			if again := got.Encode(); !bytes.Equal(again, raw) {
				t.Fatal("decode then encode changed the bytes")
			}
			if got.Types[3].KindFlag() != true || got.Types[3].Members()[0].Offset>>24 != 3 {
				t.Error("struct bitfield encoding was not kept")
			}
		})
	}
}

func TestLayoutHeader(t *testing.T) {
	s := everyKind(binary.LittleEndian)
	s.Header.HdrLen = btf.HeaderLenLayout
	s.Layout = []byte{0, 1, 2, 3, 0, 8, 12, 0}
	raw := s.Encode()
	if got := binary.LittleEndian.Uint32(raw[4:]); got != btf.HeaderLenLayout {
		t.Fatalf("hdr_len %d", got)
	}
	d, err := btf.ValidateBlob(raw, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(d.Layout, s.Layout) {
		t.Fatalf("layout %x, want %x", d.Layout, s.Layout)
	}
	// Between types and strings, as resolve_btfids lays it out.
	if !(d.Header.TypeOff < d.Header.LayoutOff && d.Header.LayoutOff < d.Header.StrOff) {
		t.Errorf("section order: types %d layout %d strings %d", d.Header.TypeOff, d.Header.LayoutOff, d.Header.StrOff)
	}
	if !bytes.Equal(d.Encode(), raw) {
		t.Fatal("round trip changed the bytes")
	}
}

// TestSectionTiling checks the kernel's btf_check_sec_info on 32-byte
// headers: sections sorted by offset, then length, must tile the data, and
// an empty layout section is ignored wherever it points (7.x external
// modules carry layout_off 0 with the types also at 0).
func TestSectionTiling(t *testing.T) {
	le := binary.LittleEndian
	s := everyKind(le)
	s.Header.HdrLen = btf.HeaderLenLayout
	s.Layout = []byte{}
	raw := s.Encode()
	typeLen, strOff := le.Uint32(raw[12:]), le.Uint32(raw[16:])
	for _, tc := range []struct {
		name                 string
		layoutOff, layoutLen uint32
		want                 string // "" for accepted
	}{
		{"empty layout at the types' offset", 0, 0, ""},
		{"empty layout between types and strings", typeLen, 0, ""},
		{"empty layout inside the types", 4, 0, ""},
		{"layout over the types", 0, 4, "gap or overlap"},
		{"layout over the strings", strOff, 4, "gap or overlap"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := bytes.Clone(raw)
			le.PutUint32(b[24:], tc.layoutOff)
			le.PutUint32(b[28:], tc.layoutLen)
			_, err := btf.ValidateBlob(b, nil)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestWideKindAndVlen(t *testing.T) {
	// vlen above 0xffff needs the 24-bit mask; kind 19 needs more than 4 bits.
	b := btftest.NewBuilder(binary.LittleEndian, nil)
	i32 := b.Add("int", btf.KindInt, 0, false, 4, 32)
	const n = 70000
	extra := make([]uint32, 0, 2*n)
	for i := 0; i < n; i++ {
		extra = append(extra, 0, uint32(i32))
	}
	b.Add("", btf.KindFuncProto, n, false, uint32(i32), extra...)
	d, err := btf.Decode(b.Spec.Encode(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if d.Types[1].Vlen() != n || len(d.Types[1].Params()) != n {
		t.Fatalf("vlen %d", d.Types[1].Vlen())
	}
}

func TestSplitRoundTrip(t *testing.T) {
	base := everyKind(binary.LittleEndian)
	b := btftest.NewBuilder(binary.LittleEndian, base)
	p := b.Add("", btf.KindPtr, 0, false, 4)                          // to base struct s
	b.Add("m", btf.KindStruct, 1, false, 8, b.Str("q"), uint32(p), 0) // own string
	b.Add("s2", btf.KindStruct, 1, false, 4, 0, 1, 0)                 // anonymous member (name 0 is base's "")
	raw := b.Spec.Encode()
	d, err := btf.ValidateBlob(raw, base)
	if err != nil {
		t.Fatal(err)
	}
	if d.FirstID() != base.NextID() || d.StrBase() != uint32(len(base.Strings)) {
		t.Fatalf("first id %d str base %d", d.FirstID(), d.StrBase())
	}
	if name := d.Name(&d.Types[1]); name != "m" {
		t.Fatalf("name %q", name)
	}
	if err := d.CheckBaseFit(); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(d.Encode(), raw) {
		t.Fatal("split round trip changed the bytes")
	}
}

func TestCheckBaseFit(t *testing.T) {
	base := everyKind(binary.LittleEndian)
	for _, tc := range []struct {
		name string
		add  func(b *btftest.Builder)
		want string
	}{
		{"name inside a base string", func(b *btftest.Builder) { b.Add("", btf.KindFwd, 0, false, 0); b.Spec.Types[0].NameOff = 2 }, "middle of base string"},
		{"member of FUNC type", func(b *btftest.Builder) { b.Add("x", btf.KindStruct, 1, false, 4, 0, 13, 0) }, "a FUNC"},
		{"pointer to DATASEC", func(b *btftest.Builder) { b.Add("", btf.KindPtr, 0, false, 15) }, "a DATASEC"},
		{"FUNC to INT", func(b *btftest.Builder) { b.Add("g", btf.KindFunc, 0, false, 1) }, "a INT"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := btftest.NewBuilder(binary.LittleEndian, base)
			tc.add(b)
			err := b.Spec.CheckBaseFit()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	good := everyKind(binary.LittleEndian).Encode()
	le := binary.LittleEndian
	mod := func(f func(b []byte) []byte) []byte { return f(append([]byte(nil), good...)) }
	typeStart := btf.HeaderLen
	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "too short"},
		{"bad magic", mod(func(b []byte) []byte { b[0] = 0; return b }), "bad magic"},
		{"header only partly there", good[:10], "too short"},
		{"hdr_len past end", mod(func(b []byte) []byte { le.PutUint32(b[4:], 1<<20); return b }), "header length"},
		{"string section past end", mod(func(b []byte) []byte { le.PutUint32(b[20:], 1<<20); return b }), "string section"},
		{"type section past end", mod(func(b []byte) []byte { le.PutUint32(b[12:], 1<<20); return b }), "type section"},
		{"unknown kind", mod(func(b []byte) []byte { b[typeStart+7] = 25; return b }), "type [1] at offset 0x18: unknown kind 25"},
		{"vlen past end", mod(func(b []byte) []byte { le.PutUint32(b[typeStart+16+4:], uint32(btf.KindStruct)<<24|0xfffff); return b }), "type [2] STRUCT at offset 0x28: vlen"},
		{"type section length not word multiple", mod(func(b []byte) []byte { le.PutUint32(b[12:], le.Uint32(b[12:])-2); return b }), "multiple of 4"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := btf.Decode(tc.data, nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestValidateErrors(t *testing.T) {
	le := binary.LittleEndian
	for _, tc := range []struct {
		name   string
		change func(s *btf.Spec)
		raw    func(b []byte) []byte
		want   string
	}{
		{"dangling type ID", func(s *btf.Spec) { s.Types[1].SizeType = 999 }, nil, "type [2] PTR: refers to type ID 999"},
		{"FUNC to non-proto", func(s *btf.Spec) { s.Types[12].SizeType = 1 }, nil, "not a FUNC_PROTO"},
		{"invalid FUNC name", func(s *btf.Spec) {
			s.Types[12].NameOff = uint32(len(s.Strings))
			s.Strings = append(s.Strings, "a-b\x00"...)
		}, nil, `invalid function name "a-b"`},
		{"FUNC linkage extern", func(s *btf.Spec) { s.Types[12].Info |= 2 }, nil, "invalid linkage"},
		{"PTR with name", func(s *btf.Spec) { s.Types[1].NameOff = 1 }, nil, "where none is allowed"},
		{"string past end", func(s *btf.Spec) { s.Types[0].NameOff = 1 << 20 }, nil, "past the string section"},
		{"strings not NUL-terminated", func(s *btf.Spec) { s.Strings = append(s.Strings, 'x') }, nil, "does not end with NUL"},
		{"datasec out of order", func(s *btf.Spec) { s.Types[14].Extra[1] = 6 }, nil, "past the section size"},
		{"decl tag bad component", func(s *btf.Spec) { s.Types[16].Extra[0] = 5 }, nil, "component index 5"},
		{"trailing byte", nil, func(b []byte) []byte { return append(b, 0) }, "unsupported section found"},
		{"gap between sections", nil, func(b []byte) []byte {
			le.PutUint32(b[16:], le.Uint32(b[16:])+1)
			le.PutUint32(b[20:], le.Uint32(b[20:])-1)
			return b
		}, "gap or overlap"},
		{"nonzero unknown header byte", func(s *btf.Spec) { s.Header.HdrLen = 40; s.Header.Tail = []byte{0, 0, 0, 0, 0, 0, 0, 1} }, nil, "not zero"},
		{"version 2", func(s *btf.Spec) { s.Header.Version = 2 }, nil, "version 2"},
		{"member of a forward-declared type", func(s *btf.Spec) { s.Types[4].Extra[1] = 7 }, nil, "member 0: member type [7] is a FWD"},
		{"pointer loop", func(s *btf.Spec) { s.Types[1].SizeType = 11 }, nil, "through reference types alone"},
		{"typedef loop", func(s *btf.Spec) { s.Types[7].SizeType = 9 }, nil, "loop"},
		{"struct containing itself", func(s *btf.Spec) { s.Types[3].Extra[1] = 4 }, nil, "refers to itself by value"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := everyKind(le)
			if tc.change != nil {
				tc.change(s)
			}
			raw := s.Encode()
			if tc.raw != nil {
				raw = tc.raw(raw)
			}
			_, err := btf.ValidateBlob(raw, nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// TestFixtures round-trips every raw blob in testdata and checks that the
// split ones fit their base.
func TestFixtures(t *testing.T) {
	bases, _ := filepath.Glob("../../testdata/*/*/base.btf")
	bpf, _ := filepath.Glob("../../testdata/bpf/*.btf")
	if len(bases) < 4 || len(bpf) < 2 {
		t.Fatalf("found %d base and %d bpf fixtures; run scripts/build-fixtures.sh", len(bases), len(bpf))
	}
	for _, p := range append(bases, bpf...) {
		raw, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		// BPF objects carry BTF for libbpf, which fixes DATASEC sizes
		// at load: they decode but need not pass the kernel's rules.
		check := btf.ValidateBlob
		if strings.Contains(p, "/bpf/") {
			check = btf.Decode
		}
		s, err := check(raw, nil)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		if !bytes.Equal(s.Encode(), raw) {
			t.Errorf("%s: round trip changed the bytes", p)
		}
		mod := filepath.Join(filepath.Dir(p), "module.btf")
		if strings.HasSuffix(p, "base.btf") {
			mraw, err := os.ReadFile(mod)
			if err != nil {
				t.Fatal(err)
			}
			m, err := btf.ValidateBlob(mraw, s)
			if err != nil {
				t.Fatalf("%s: %v", mod, err)
			}
			if err := m.CheckBaseFit(); err != nil {
				t.Errorf("%s: %v", mod, err)
			}
			if !bytes.Equal(m.Encode(), mraw) {
				t.Errorf("%s: round trip changed the bytes", mod)
			}
		}
	}
	if s, _ := os.ReadFile("../../testdata/bpf/bpfeb.btf"); len(s) > 0 {
		if o, _ := btf.ByteOrderOf(s); o != binary.BigEndian {
			t.Error("bpfeb.btf does not decode as big-endian")
		}
	}
}

// TestDecodeCopies: a blob stored in the host's order at an aligned address
// is read in place, one elsewhere through a converted copy; either way the
// decoded spec is the same, and it holds nothing of the blob's memory.
func TestDecodeCopies(t *testing.T) {
	for _, order := range []binary.ByteOrder{binary.LittleEndian, binary.BigEndian} {
		raw := everyKind(order).Encode()
		for shift := range 4 {
			t.Run(order.String()+"/"+string(rune('0'+shift)), func(t *testing.T) {
				buf := make([]byte, len(raw)+shift)
				blob := buf[shift:]
				copy(blob, raw)
				s, err := btf.Decode(blob, nil)
				if err != nil {
					t.Fatal(err)
				}
				clear(buf)
				if got := s.Encode(); !bytes.Equal(got, raw) {
					t.Fatal("the decoded spec changed with the blob's memory")
				}
			})
		}
	}
}
