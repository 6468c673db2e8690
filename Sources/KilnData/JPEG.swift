// JPEG: reads JPEG files (baseline or progressive; grey, YCbCr, RGB or CMYK) into 8-bit grey or RGB images
// through libjpeg-turbo's TurboJPEG API, with the decoder settings Pillow uses (accurate integer DCT, smooth
// chroma upsampling), so the pixels are the ones torchvision's loader sees.
import CTurboJPEG
import Foundation

public enum JPEG {
    /// Decodes a JPEG file's bytes; `file` names it in errors.
    ///
    /// Grey JPEGs give 1 channel, the others 3. CMYK and YCCK files become RGB as Pillow converts them:
    /// `R = (255 − C)(255 − K) / 255` and so on, with the inks stored inverted when the file has Adobe's
    /// marker (Photoshop's convention, which Pillow also follows). A truncated or corrupt file is an error,
    /// not a partly grey image (libjpeg's warnings stop the decode), and progressive files with more than
    /// 500 scans are refused (a known way to make a small file take minutes to decode).
    public static func decode(_ data: Data, file: String, limits: ImageLimits = .standard) throws -> RasterImage {
        guard let handle = tjInitDecompress() else {
            throw DataError.unreadable(file: file, reason: "libjpeg-turbo could not start a decompressor")
        }
        defer { tjDestroy(handle) }
        let bytes = [UInt8](data)
        var width: Int32 = 0
        var height: Int32 = 0
        var subsampling: Int32 = 0
        var colorspace: Int32 = 0
        guard tjDecompressHeader3(handle, bytes, UInt(bytes.count), &width, &height, &subsampling, &colorspace) == 0 else {
            throw DataError.unreadable(file: file, reason: "not a valid JPEG file: libjpeg-turbo: \(errorMessage(handle))")
        }
        try limits.check(width: Int(width), height: Int(height), file: file)
        let (pixelFormat, stored): (TJPF, Int) =
            switch TJCS(UInt32(colorspace)) {
            case TJCS_GRAY: (TJPF_GRAY, 1)
            case TJCS_CMYK, TJCS_YCCK: (TJPF_CMYK, 4)
            default: (TJPF_RGB, 3)
            }
        var samples = [UInt8](repeating: 0, count: Int(width) * Int(height) * stored)
        let flags = TJFLAG_ACCURATEDCT | TJFLAG_STOPONWARNING | TJFLAG_LIMITSCANS
        let status = samples.withUnsafeMutableBufferPointer { output in
            tjDecompress2(handle, bytes, UInt(bytes.count), output.baseAddress, width, 0, height, Int32(pixelFormat.rawValue), flags)
        }
        guard status == 0 else {
            throw DataError.unreadable(file: file, reason: "corrupt or truncated JPEG: libjpeg-turbo: \(errorMessage(handle))")
        }
        guard stored == 4 else { return RasterImage(width: Int(width), height: Int(height), channels: stored, pixels: samples) }
        return RasterImage(
            width: Int(width), height: Int(height), channels: 3,
            pixels: rgb(fromCMYK: samples, inverted: hasAdobeMarker(bytes)))
    }

    /// Width, height and channels (1 for grey JPEGs, 3 for the others) from the start of a JPEG file, without
    /// decoding it; nil when `prefix` does not reach the start of the first scan or is not a JPEG.
    static func header(_ prefix: [UInt8]) -> (width: Int, height: Int, channels: Int)? {
        guard let handle = tjInitDecompress() else { return nil }
        defer { tjDestroy(handle) }
        var width: Int32 = 0
        var height: Int32 = 0
        var subsampling: Int32 = 0
        var colorspace: Int32 = 0
        guard tjDecompressHeader3(handle, prefix, UInt(prefix.count), &width, &height, &subsampling, &colorspace) == 0 else { return nil }
        return (Int(width), Int(height), TJCS(UInt32(colorspace)) == TJCS_GRAY ? 1 : 3)
    }

    /// Pillow's CMYK to RGB: each colour is `(255 − ink) · (255 − K) / 255`, rounded; `inverted` inks are
    /// stored as `255 − ink`.
    private static func rgb(fromCMYK samples: [UInt8], inverted: Bool) -> [UInt8] {
        let count = samples.count / 4
        var rgb = [UInt8](repeating: 0, count: count * 3)
        for pixel in 0..<count {
            let ink = { (channel: Int) -> Int in
                let value = Int(samples[4 * pixel + channel])
                return inverted ? 255 - value : value
            }
            let paper = 255 - ink(3)
            for channel in 0..<3 {
                // Pillow's MULDIV255: a · b / 255 rounded, as (t + (t >> 8)) >> 8 with t = a · b + 128.
                let product = ink(channel) * paper + 128
                rgb[3 * pixel + channel] = UInt8(paper - ((product + (product >> 8)) >> 8))
            }
        }
        return rgb
    }

    /// Whether the markers before the first scan include Adobe's APP14 segment.
    private static func hasAdobeMarker(_ bytes: [UInt8]) -> Bool {
        var offset = 2  // after the start-of-image marker
        while offset + 4 <= bytes.count, bytes[offset] == 0xFF {
            let marker = bytes[offset + 1]
            if marker == 0xFF {  // fill byte
                offset += 1
                continue
            }
            if marker == 0xDA || marker == 0xD9 { return false }  // start of scan, end of image
            if marker == 0x01 || (0xD0...0xD7).contains(marker) {  // markers without a length
                offset += 2
                continue
            }
            let length = Int(bytes[offset + 2]) << 8 | Int(bytes[offset + 3])
            if marker == 0xEE, length >= 7, offset + 9 <= bytes.count, Array(bytes[offset + 4..<offset + 9]) == Array("Adobe".utf8) {
                return true
            }
            offset += 2 + length
        }
        return false
    }

    private static func errorMessage(_ handle: tjhandle) -> String {
        guard let message = tjGetErrorStr2(handle) else { return "unknown error" }
        return String(cString: message)
    }
}
