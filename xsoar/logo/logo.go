// Package logo draws the integration's 120×50 logo (integration.yml's image,
// the Help tab's header) from code, so that it has one source and no binary
// file to keep in sync.
package logo

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
)

// Width and Height are the size XSOAR requires for an integration image
// (demisto-sdk IM111).
const (
	Width  = 120
	Height = 50
)

var (
	blue  = color.NRGBA{0x00, 0x78, 0xD4, 0xFF} // the badge
	white = color.NRGBA{0xFF, 0xFF, 0xFF, 0xFF}
	ink   = color.NRGBA{0x24, 0x29, 0x2E, 0xFF} // the text
	cyan  = color.NRGBA{0x00, 0xAD, 0xD8, 0xFF} // the check mark
)

// glyphs is a 5×7 bitmap font for the letters the logo uses; each string is
// a row, '#' is ink.
var glyphs = map[rune][7]string{
	'M': {"#...#", "##.##", "#.#.#", "#.#.#", "#...#", "#...#", "#...#"},
	'3': {"####.", "....#", "....#", ".###.", "....#", "....#", "####."},
	'6': {".###.", "#....", "#....", "####.", "#...#", "#...#", ".###."},
	'5': {"#####", "#....", "####.", "....#", "....#", "#...#", ".###."},
	'A': {".###.", "#...#", "#...#", "#####", "#...#", "#...#", "#...#"},
	'U': {"#...#", "#...#", "#...#", "#...#", "#...#", "#...#", ".###."},
	'D': {"####.", "#...#", "#...#", "#...#", "#...#", "#...#", "####."},
	'I': {"#####", "..#..", "..#..", "..#..", "..#..", "..#..", "#####"},
	'T': {"#####", "..#..", "..#..", "..#..", "..#..", "..#..", "..#.."},
}

// Image draws the logo: a blue badge holding an audit log (lines and a check
// mark) and "M365 AUDIT" beside it, on a transparent background.
func Image() *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, Width, Height))
	roundedRect(img, 4, 5, 44, 45, 6, blue)
	// The log: four lines of a record list, the last one short.
	for i, w := range []int{24, 24, 24, 14} {
		fill(img, 12, 13+i*6, 12+w, 16+i*6, white)
	}
	// A check mark over the short line's end.
	for i := 0; i < 5; i++ {
		fill(img, 28+i, 33+i, 30+i, 35+i, cyan)
	}
	for i := 0; i < 8; i++ {
		fill(img, 33+i, 37-i, 35+i, 39-i, cyan)
	}
	text(img, 49, 7, "M365", 3)
	text(img, 49, 33, "AUDIT", 2)
	return img
}

// PNG encodes Image.
func PNG() ([]byte, error) {
	var b bytes.Buffer
	if err := (&png.Encoder{CompressionLevel: png.BestCompression}).Encode(&b, Image()); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func fill(img *image.NRGBA, x0, y0, x1, y1 int, c color.NRGBA) {
	for y := y0; y < y1; y++ {
		for x := x0; x < x1; x++ {
			img.SetNRGBA(x, y, c)
		}
	}
}

// roundedRect fills [x0,x1)×[y0,y1) with corners of radius r cut round.
func roundedRect(img *image.NRGBA, x0, y0, x1, y1, r int, c color.NRGBA) {
	for y := y0; y < y1; y++ {
		for x := x0; x < x1; x++ {
			cx, cy := x, y
			switch {
			case x < x0+r:
				cx = x0 + r
			case x >= x1-r:
				cx = x1 - r - 1
			}
			switch {
			case y < y0+r:
				cy = y0 + r
			case y >= y1-r:
				cy = y1 - r - 1
			}
			if dx, dy := x-cx, y-cy; dx*dx+dy*dy <= r*r {
				img.SetNRGBA(x, y, c)
			}
		}
	}
}

// text draws s with the bitmap font at (x, y), each font pixel scale×scale.
func text(img *image.NRGBA, x, y int, s string, scale int) {
	for _, ch := range s {
		g := glyphs[ch]
		for row, bits := range g {
			for col, b := range bits {
				if b == '#' {
					fill(img, x+col*scale, y+row*scale, x+(col+1)*scale, y+(row+1)*scale, ink)
				}
			}
		}
		x += 6 * scale
	}
}
