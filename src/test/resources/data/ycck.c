/* Writes a YCCK (Adobe transform 2) JPEG from raw Adobe-inverted CMYK bytes: ycck in.cmyk w h out.jpg */
#include <stdio.h>
#include <stdlib.h>
#include <jpeglib.h>
int main(int argc, char **argv) {
  int w = atoi(argv[2]), h = atoi(argv[3]);
  FILE *fi = fopen(argv[1], "rb"); unsigned char *buf = malloc(w*h*4); fread(buf, 1, w*h*4, fi); fclose(fi);
  struct jpeg_compress_struct c; struct jpeg_error_mgr e;
  c.err = jpeg_std_error(&e); jpeg_create_compress(&c);
  FILE *fo = fopen(argv[4], "wb"); jpeg_stdio_dest(&c, fo);
  c.image_width = w; c.image_height = h; c.input_components = 4; c.in_color_space = JCS_CMYK;
  jpeg_set_defaults(&c); jpeg_set_colorspace(&c, JCS_YCCK); jpeg_set_quality(&c, 90, TRUE);
  jpeg_start_compress(&c, TRUE);
  while (c.next_scanline < c.image_height) { JSAMPROW row = buf + c.next_scanline * w * 4; jpeg_write_scanlines(&c, &row, 1); }
  jpeg_finish_compress(&c); fclose(fo); return 0;
}
