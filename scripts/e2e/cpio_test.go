package e2e

import (
	"bytes"
	"strconv"
	"testing"
)

// TestCpioGolden checks the exact bytes of a small archive, written out by
// hand from the newc format description.
func TestCpioGolden(t *testing.T) {
	var buf bytes.Buffer
	c := newCpioWriter(&buf)
	c.File("a", []byte("xy"), 0o644)
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	want := "070701" +
		"00000001" + "000081a4" + "00000000" + "00000000" + "00000001" + "00000000" +
		"00000002" + "00000000" + "00000000" + "00000000" + "00000000" + "00000002" + "00000000" +
		"a\x00" + // 110 + 2 bytes: already a multiple of 4
		"xy\x00\x00" +
		"070701" +
		"00000002" + "00000000" + "00000000" + "00000000" + "00000001" + "00000000" +
		"00000000" + "00000000" + "00000000" + "00000000" + "00000000" + "0000000b" + "00000000" +
		"TRAILER!!!\x00" + "\x00\x00\x00" // 110 + 11 bytes, padded to 124
	if got := buf.String(); got != want {
		t.Errorf("archive:\n got %q\nwant %q", got, want)
	}
}

// cpioEntry is one decoded entry, for the round trip.
type cpioEntry struct {
	name               string
	mode               uint32
	data               string
	rdevMajor, rdevMin uint32
}

// readCpio decodes a newc archive, checking the magic and the 4-byte
// alignment of every header.
func readCpio(t *testing.T, b []byte) []cpioEntry {
	t.Helper()
	var out []cpioEntry
	off := 0
	align := func(n int) int { return (n + 3) &^ 3 }
	for {
		if off%4 != 0 || off+110 > len(b) || string(b[off:off+6]) != "070701" {
			t.Fatalf("no newc header at offset %d", off)
		}
		field := func(i int) uint32 {
			v, err := strconv.ParseUint(string(b[off+6+8*i:off+14+8*i]), 16, 32)
			if err != nil {
				t.Fatalf("header at %d field %d: %v", off, i, err)
			}
			return uint32(v)
		}
		mode, size, rmaj, rmin, nsize := field(1), int(field(6)), field(9), field(10), int(field(11))
		name := string(b[off+110 : off+110+nsize-1])
		data := off + align(110+nsize)
		out = append(out, cpioEntry{name, mode, string(b[data : data+size]), rmaj, rmin})
		off = data + align(size)
		if name == "TRAILER!!!" {
			if off != len(b) {
				t.Fatalf("%d bytes after the trailer", len(b)-off)
			}
			return out
		}
	}
}

func TestCpioRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	c := newCpioWriter(&buf)
	c.Dir("bin")
	c.CharDev("dev/console", 5, 1)
	c.File("bin/busybox", []byte("12345"), 0o755)
	c.Symlink("bin/sh", "busybox")
	c.File("empty", nil, 0o644)
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	want := []cpioEntry{
		{"bin", 0o040755, "", 0, 0},
		{"dev/console", 0o020600, "", 5, 1},
		{"bin/busybox", 0o100755, "12345", 0, 0},
		{"bin/sh", 0o120777, "busybox", 0, 0},
		{"empty", 0o100644, "", 0, 0},
		{"TRAILER!!!", 0, "", 0, 0},
	}
	got := readCpio(t, buf.Bytes())
	if len(got) != len(want) {
		t.Fatalf("%d entries, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("entry %d: got %+v, want %+v", i, got[i], want[i])
		}
	}
}
