package dwarf

import godwarf "debug/dwarf"

// Reference opens Go's debug/dwarf over the sections Scan read, relocations
// applied, for the few lookups the scanner does not make (what a pointer
// points to). It is nil when d did not come from Scan or debug/dwarf cannot
// read the sections; a panic in debug/dwarf on a hostile file reads as nil
// too.
func (d *Data) Reference() (g *godwarf.Data) {
	s := d.sec
	if s == nil {
		return nil
	}
	defer func() {
		if recover() != nil {
			g = nil
		}
	}()
	g, err := godwarf.New(s.abbrev, nil, nil, s.info, nil, nil, s.ranges, s.str)
	if err != nil {
		return nil
	}
	for _, extra := range []struct {
		name string
		data []byte
	}{
		{".debug_addr", s.addr},
		{".debug_line_str", s.lineStr},
		{".debug_str_offsets", s.strOffsets},
		{".debug_rnglists", s.rnglists},
	} {
		if extra.data == nil {
			continue
		}
		if err := g.AddSection(extra.name, extra.data); err != nil {
			return nil
		}
	}
	return g
}
