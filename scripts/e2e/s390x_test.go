package e2e

import (
	"bytes"
	"testing"

	"github.com/klauspost/compress/zstd"
)

// TestZstdFrameLen measures frames the encoder makes (with and without a
// checksum, empty and of several blocks) followed by other bytes, and
// refuses what is not a whole frame.
func TestZstdFrameLen(t *testing.T) {
	big := bytes.Repeat([]byte("btffilter s390x payload "), 40000) // several 128 KiB blocks
	for _, tc := range []struct {
		name     string
		data     []byte
		checksum bool
	}{
		{"empty", nil, false},
		{"small with checksum", []byte("hello"), true},
		{"several blocks", big, false},
		{"several blocks with checksum", big, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			enc, err := zstd.NewWriter(nil, zstd.WithEncoderCRC(tc.checksum))
			if err != nil {
				t.Fatal(err)
			}
			frame := enc.EncodeAll(tc.data, nil)
			enc.Close()
			withJunk := append(append([]byte(nil), frame...), 0, 0, 0x28, 0xb5)
			n, ok := zstdFrameLen(withJunk)
			if !ok || n != len(frame) {
				t.Fatalf("zstdFrameLen = %d, %v; want %d", n, ok, len(frame))
			}
			if _, ok := zstdFrameLen(frame[:len(frame)-1]); ok && len(frame) > 0 {
				t.Errorf("a frame cut short was measured")
			}
		})
	}
	for _, bad := range [][]byte{nil, {0x28, 0xb5, 0x2f}, {1, 2, 3, 4, 5, 6}, {0x28, 0xb5, 0x2f, 0xfd, 0x20, 0, 7, 0, 0}} {
		if n, ok := zstdFrameLen(bad); ok {
			t.Errorf("zstdFrameLen(% x) = %d, true", bad, n)
		}
	}
}
