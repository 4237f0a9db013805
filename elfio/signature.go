package elfio

import (
	"bytes"
	"encoding/binary"
	"fmt"
)

// moduleSigMagic ends a signed module (kernel include/linux/module_signature.h).
const moduleSigMagic = "~Module signature appended~\n"

// moduleSigInfoLen is the size of struct module_signature, which sits just
// before the magic: u8 algo, hash, id_type, signer_len, key_id_len; u8 pad[3];
// __be32 sig_len. sig_len counts the PKCS#7 blob that precedes the struct.
const moduleSigInfoLen = 12

// splitSignature separates an appended module signature from the ELF image
// before it. A file that does not end in the magic is returned whole, with a
// nil signature. A file that ends in the magic but whose sig_len does not fit
// is an error: cutting at a guessed place would hand a damaged ELF onwards.
func splitSignature(data []byte) (body, sig []byte, err error) {
	if !bytes.HasSuffix(data, []byte(moduleSigMagic)) {
		return data, nil, nil
	}
	end := len(data) - len(moduleSigMagic)
	if end < moduleSigInfoLen {
		return nil, nil, fmt.Errorf("module signature marker at offset %#x but no room for struct module_signature before it", end)
	}
	info := data[end-moduleSigInfoLen : end]
	sigLen := uint64(binary.BigEndian.Uint32(info[8:12]))
	if sigLen == 0 {
		return nil, nil, fmt.Errorf("module signature at offset %#x has sig_len 0", end-moduleSigInfoLen)
	}
	total := sigLen + moduleSigInfoLen + uint64(len(moduleSigMagic))
	if total > uint64(len(data)) {
		return nil, nil, fmt.Errorf("module signature at offset %#x claims sig_len %d, more than the %d bytes before it",
			end-moduleSigInfoLen, sigLen, end-moduleSigInfoLen)
	}
	cut := len(data) - int(total)
	return data[:cut], data[cut:], nil
}
