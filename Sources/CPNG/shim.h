// libpng (Debian: libpng-dev), for writing sample grids, kernels and feature maps as PNG.
#include <png.h>
