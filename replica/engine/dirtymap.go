package engine

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math/bits"
)

// DirtyMap is a bitset of changed blocks of a volume, one bit per BlockSize bytes.
// The service that sees the writes marks them; Resync copies only the marked blocks.
// It is not safe for concurrent use. It serialises to a compact binary form
// (MarshalBinary) and to JSON.
type DirtyMap struct {
	blockSize int64
	blocks    int64
	words     []uint64
}

// NewDirtyMap returns an empty map covering size bytes in blocks of blockSize bytes.
func NewDirtyMap(size, blockSize int64) *DirtyMap {
	if blockSize <= 0 {
		blockSize = DefaultResyncBlockSize
	}
	m := &DirtyMap{blockSize: blockSize}
	m.grow((size + blockSize - 1) / blockSize)
	return m
}

// BlockSize returns the number of bytes each bit stands for.
func (m *DirtyMap) BlockSize() int64 { return m.blockSize }

// Len returns the number of blocks the map covers.
func (m *DirtyMap) Len() int64 { return m.blocks }

func (m *DirtyMap) grow(blocks int64) {
	if blocks <= m.blocks {
		return
	}
	m.blocks = blocks
	if need := int((blocks + 63) / 64); need > len(m.words) {
		m.words = append(m.words, make([]uint64, need-len(m.words))...)
	}
}

// Set marks block i dirty, growing the map if i is past its end.
func (m *DirtyMap) Set(i int64) {
	m.grow(i + 1)
	m.words[i/64] |= 1 << (i % 64)
}

// Clear marks block i clean.
func (m *DirtyMap) Clear(i int64) {
	if i < m.blocks {
		m.words[i/64] &^= 1 << (i % 64)
	}
}

// Test reports whether block i is dirty.
func (m *DirtyMap) Test(i int64) bool {
	return i >= 0 && i < m.blocks && m.words[i/64]&(1<<(i%64)) != 0
}

// MarkRange marks every block touched by a write of n bytes at byte offset off.
func (m *DirtyMap) MarkRange(off, n int64) {
	if n <= 0 {
		return
	}
	for i := off / m.blockSize; i <= (off+n-1)/m.blockSize; i++ {
		m.Set(i)
	}
}

// Count returns the number of dirty blocks.
func (m *DirtyMap) Count() int64 {
	var n int
	for _, w := range m.words {
		n += bits.OnesCount64(w)
	}
	return int64(n)
}

// Next returns the index of the first dirty block at or after i, or -1.
func (m *DirtyMap) Next(i int64) int64 {
	if i < 0 {
		i = 0
	}
	for w := i / 64; w < int64(len(m.words)); w++ {
		word := m.words[w]
		if w == i/64 {
			word &^= (1 << (i % 64)) - 1
		}
		if word != 0 {
			if j := w*64 + int64(bits.TrailingZeros64(word)); j < m.blocks {
				return j
			}
			return -1
		}
	}
	return -1
}

// Reset marks every block clean.
func (m *DirtyMap) Reset() { clear(m.words) }

// Clone returns a copy of m that shares nothing with it.
func (m *DirtyMap) Clone() *DirtyMap {
	return &DirtyMap{blockSize: m.blockSize, blocks: m.blocks, words: append([]uint64(nil), m.words...)}
}

// Merge marks in m every byte range that o marks, in m's own block size
// (a block of m is dirty when any byte of it is dirty in o).
func (m *DirtyMap) Merge(o *DirtyMap) {
	if o.blockSize == m.blockSize {
		m.grow(o.blocks)
		for i, w := range o.words {
			m.words[i] |= w
		}
		return
	}
	for i := o.Next(0); i >= 0; i = o.Next(i + 1) {
		m.MarkRange(i*o.blockSize, o.blockSize)
	}
}

const dirtyMagic = "RDMAP001"

// MarshalBinary encodes the map as a magic, block size, block count and the
// little-endian bit words.
func (m *DirtyMap) MarshalBinary() ([]byte, error) {
	b := make([]byte, 0, 24+8*len(m.words))
	b = append(b, dirtyMagic...)
	b = binary.LittleEndian.AppendUint64(b, uint64(m.blockSize))
	b = binary.LittleEndian.AppendUint64(b, uint64(m.blocks))
	for _, w := range m.words {
		b = binary.LittleEndian.AppendUint64(b, w)
	}
	return b, nil
}

// UnmarshalBinary decodes what MarshalBinary produced.
func (m *DirtyMap) UnmarshalBinary(b []byte) error {
	if len(b) < 24 || string(b[:8]) != dirtyMagic {
		return fmt.Errorf("engine: dirty map: bad header")
	}
	bs := int64(binary.LittleEndian.Uint64(b[8:]))
	blocks := int64(binary.LittleEndian.Uint64(b[16:]))
	if bs <= 0 || blocks < 0 || int64(len(b)-24) != (blocks+63)/64*8 {
		return fmt.Errorf("engine: dirty map: block size %d, %d blocks, %d bytes of bits", bs, blocks, len(b)-24)
	}
	m.blockSize, m.blocks = bs, blocks
	m.words = make([]uint64, (blocks+63)/64)
	for i := range m.words {
		m.words[i] = binary.LittleEndian.Uint64(b[24+8*i:])
	}
	return nil
}

type dirtyJSON struct {
	BlockSize int64  `json:"blockSize"`
	Blocks    int64  `json:"blocks"`
	Bits      string `json:"bits"` // base64 of the little-endian words
}

// MarshalJSON encodes the map as {"blockSize","blocks","bits"} with bits in base64.
func (m *DirtyMap) MarshalJSON() ([]byte, error) {
	raw := make([]byte, 0, 8*len(m.words))
	for _, w := range m.words {
		raw = binary.LittleEndian.AppendUint64(raw, w)
	}
	return json.Marshal(dirtyJSON{BlockSize: m.blockSize, Blocks: m.blocks, Bits: base64.StdEncoding.EncodeToString(raw)})
}

// UnmarshalJSON decodes what MarshalJSON produced.
func (m *DirtyMap) UnmarshalJSON(b []byte) error {
	var j dirtyJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return fmt.Errorf("engine: dirty map: %w", err)
	}
	raw, err := base64.StdEncoding.DecodeString(j.Bits)
	if err != nil {
		return fmt.Errorf("engine: dirty map bits: %w", err)
	}
	bin := append([]byte(dirtyMagic), make([]byte, 16)...)
	binary.LittleEndian.PutUint64(bin[8:], uint64(j.BlockSize))
	binary.LittleEndian.PutUint64(bin[16:], uint64(j.Blocks))
	return m.UnmarshalBinary(append(bin, raw...))
}
