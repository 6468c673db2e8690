// libjpeg-turbo's TurboJPEG API (Debian: libturbojpeg0-dev), for reading JPEG images.
#include <stddef.h>
#include <turbojpeg.h>
