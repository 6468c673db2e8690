#!/usr/bin/env python3
"""Writes the fuzzers' seed corpora into Fuzz/corpus/NAME/: small valid files of each format, and the
hostile files from issue 15's probe (overflowing sizes and offsets, bombs, bad model strings)."""
import gzip, io, json, os, struct

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'corpus')

def put(target, name, data):
    os.makedirs(os.path.join(root, target), exist_ok=True)
    with open(os.path.join(root, target, name), 'wb') as f:
        f.write(data if isinstance(data, bytes) else data.encode())

def safetensors(header, body=b'', length=None):
    text = json.dumps(header, separators=(',', ':')).encode()
    text += b' ' * (-len(text) % 8)
    return struct.pack('<Q', len(text) if length is None else length) + text + body

def f32(values):
    return struct.pack('<%df' % len(values), *values)

IMAX = 2**63 - 1
configuration = json.dumps({'model': 'flatten-dense4', 'batchSize': 4, 'seed': 0})
weights = {'1.weight': ([4, 36], [0.01 * i for i in range(144)]), '1.bias': ([4], [0.5, -0.5, 1, 0])}
def checkpoint(metadata, tensors):
    header, body = {'__metadata__': metadata}, b''
    for name, (shape, values) in tensors.items():
        header[name] = {'dtype': 'F32', 'shape': shape, 'data_offsets': [len(body), len(body) + 4 * len(values)]}
        body += f32(values)
    return safetensors(header, body)

for target in ['safetensors', 'checkpoint']:
    put(target, 'valid', checkpoint({'format': 'pt', 'kiln.configuration': configuration, 'kiln.epoch': '1'}, weights))
    put(target, 'char-lstm', checkpoint({'kiln.model': 'char-lstm', 'kiln.vocabulary': json.dumps(list('abc \n')), 'kiln.hidden': '2'},
                                        {'lstm.weight_ih': ([8, 5], [0.1] * 40)}))
    put(target, 'other-dtypes', safetensors({'a': {'dtype': 'F16', 'shape': [2], 'data_offsets': [0, 4]},
                                             'b': {'dtype': 'I64', 'shape': [1], 'data_offsets': [4, 12]},
                                             'c': {'dtype': 'F32', 'shape': [0], 'data_offsets': [12, 12]}}, b'\0' * 12))
    put(target, 'nan', checkpoint({'kiln.configuration': configuration}, {'1.weight': ([4, 36], [float('nan')] * 144), '1.bias': ([4], [0] * 4)}))
    # The probe's files (issue 15).
    put(target, 'header-length-max', safetensors({}, length=IMAX))
    put(target, 'element-count-overflow', safetensors({'a': {'dtype': 'F32', 'shape': [2**32, 2**32, 4], 'data_offsets': [0, 16]}}, b'\0' * 16))
    put(target, 'byte-count-overflow', safetensors({'a': {'dtype': 'F32', 'shape': [2**62], 'data_offsets': [0, 16]}}, b'\0' * 16))
    put(target, 'offsets-int-min', safetensors({'a': {'dtype': 'F32', 'shape': [1], 'data_offsets': [4, -2**63]}}, b'\0' * 16))
    put(target, 'offsets-int-max', safetensors({'a': {'dtype': 'F32', 'shape': [10], 'data_offsets': [IMAX - 40, IMAX]}}, b'\0' * 16))
    put(target, 'overlapping', safetensors({'a': {'dtype': 'F32', 'shape': [2], 'data_offsets': [0, 8]},
                                            'b': {'dtype': 'F32', 'shape': [2], 'data_offsets': [4, 12]}}, b'\0' * 16))
    put(target, 'metadata-not-string', safetensors({'__metadata__': {'kiln.epoch': 3}, 'a': {'dtype': 'F32', 'shape': [1], 'data_offsets': [0, 4]}}, b'\0' * 4))
    put(target, 'huge-model', checkpoint({'kiln.configuration': json.dumps({'model': 'flatten-dense99999999999-dense10'})}, weights))

# Found by fuzzing: empty tensors that come back from a round trip in another order.
put('safetensors', 'empty-tensors-share-an-offset', safetensors({'a': {'dtype': 'F32', 'shape': [0], 'data_offsets': [0, 0]},
                                                                 'b': {'dtype': 'I28', 'shape': [1], 'data_offsets': [4, 12]},
                                                                 '&': {'dtype': 'F32', 'shape': [0], 'data_offsets': [12, 12]}}, b'\0' * 16))

def idx(dimensions, payload=b''):
    return bytes([0, 0, 8, len(dimensions)]) + b''.join(struct.pack('>I', d) for d in dimensions) + payload

images = idx([2, 3, 4], bytes(range(24)))
labels = idx([5], bytes([0, 1, 2, 9, 200]))
for name, data in {'images': images, 'labels': labels, 'dimensions-max': idx([0xFFFFFFFF] * 3),
                   'empty-65536-squared': idx([0, 65536, 65536]), 'truncated': images[:-3], 'rank-mismatch': idx([2, 2], b'\0' * 4)}.items():
    put('idx', name, data)
    # The gzip harness puts the two magic bytes back itself.
    put('idx-gzip', name, gzip.compress(data, mtime=0)[2:])
put('idx-gzip', 'inflates-to-4-MiB', gzip.compress(idx([4, 1024, 1024]) + bytes(4 << 20), compresslevel=9, mtime=0)[2:])

for name, text in {'cnn': 'conv32k3p1-relu-maxpool2-conv64k3p1-relu-maxpool2-flatten-dense128-relu-dense10', 'mlp': 'mlp',
                   'every-token': 'conv4k3s2p1d1g1-bn-leakyrelu-avgpool2s1-gap-flatten-dropout50-dense8-sigmoid-tanh-relu-dense3',
                   'pooling-padding-ceil': 'conv4k3p1-maxpool3s2p1c1-avgpool2s3p1c1-flatten-dense10',
                   'maxpool0': 'maxpool0', 'maxpool2s0': 'maxpool2s0', 'avgpool0': 'avgpool0', 'conv32k3s0': 'conv32k3s0',
                   'padding-overflow': 'conv8k3p4611686018427387904', 'huge-conv': 'conv99999999k3',
                   'huge-padding': 'conv8k3p1000-flatten-dense10', 'huge-dense': 'flatten-dense99999999999-dense10',
                   # Found by fuzzing: numbers a layer ignored, and a convolution wide enough to take seconds.
                   'unused-numbers-and-a-wide-convolution': 'conv111132k3p1-relu-maxpool2k3p1-relu-maxpool2-conv64k3p0-relu-flatten-dense256-relu999-dense10'}.items():
    put('model-string', name, text)

put('text', 'english', 'The quick brown fox jumps over the lazy dog.\nPack my box with five dozen liquor jugs.\n' * 4)
put('text', 'multibyte', 'Grüße, ça va? Ελληνικά, 日本語, emoji 🦊 and a combining é.\n')
put('text', 'latin-1', 'caf\xe9 na\xefve'.encode('latin-1'))
put('text', 'nul', b'text\0binary')
put('text', 'overlong', b'\xc0\xaf \xed\xa0\x80 \xf4\x90\x80\x80')

# Images: small PNGs and JPEGs (grey, RGB, palette, 16-bit, CMYK, progressive) and damaged ones.
from PIL import Image
def encoded(image, format, **options):
    out = io.BytesIO()
    image.save(out, format, **options)
    return out.getvalue()
gradient = Image.frombytes('L', (7, 5), bytes(range(0, 35 * 7, 7)))
colour = Image.merge('RGB', [gradient, gradient.transpose(Image.FLIP_LEFT_RIGHT), gradient.transpose(Image.FLIP_TOP_BOTTOM)])
for name, data in {'grey.png': encoded(gradient, 'PNG'), 'rgb.png': encoded(colour, 'PNG'), 'palette.png': encoded(colour.convert('P'), 'PNG'),
                   'rgba.png': encoded(colour.convert('RGBA'), 'PNG'), 'sixteen-bit.png': encoded(gradient.convert('I;16'), 'PNG'),
                   'grey.jpg': encoded(gradient, 'JPEG'), 'rgb.jpg': encoded(colour, 'JPEG', quality=50),
                   'progressive.jpg': encoded(colour, 'JPEG', progressive=True), 'cmyk.jpg': encoded(colour.convert('CMYK'), 'JPEG')}.items():
    put('image', name, data)
    put('image', 'truncated-' + name, data[:len(data) * 2 // 3])
# Headers claiming 65535 × 65535 pixels (a decompression bomb's first bytes).
big_png = bytearray(encoded(gradient, 'PNG'))
big_png[16:24] = struct.pack('>II', 65535, 65535)
put('image', 'huge-header.png', bytes(big_png))

# NumPy arrays: the dtypes and header versions the reader takes, and the probe's kind of hostile header.
import numpy
def npy(array, version=None):
    out = io.BytesIO()
    if version is None:
        numpy.save(out, array)
    else:
        numpy.lib.format.write_array(out, array, version=version)
    return out.getvalue()
for name, array in {'uint8-images': numpy.arange(24, dtype=numpy.uint8).reshape(2, 3, 4), 'int64-labels': numpy.array([0, 1, 9, 200]),
                    'float32': numpy.linspace(0, 1, 6, dtype=numpy.float32).reshape(2, 3), 'big-endian': numpy.arange(4, dtype='>i4'),
                    'bool': numpy.array([True, False]), 'fortran-order': numpy.asfortranarray(numpy.zeros((2, 3))), 'empty': numpy.zeros((0, 5))}.items():
    put('npy', name, npy(array))
put('npy', 'version-2', npy(numpy.arange(3, dtype=numpy.uint16), version=(2, 0)))
put('npy', 'shape-overflow', npy(numpy.zeros(1, dtype=numpy.uint8)).replace(b"'shape': (1,), }", b"'shape': (9223372036854775807, 3), }"))

# ONNX: a minimal model here; run.sh adds ONNX's node tests (Tests/KilnONNXTests/Data/node) as seeds.
put('onnx', 'relu', open(os.path.join(os.path.dirname(root), '..', 'Tests/KilnONNXTests/Data/node/test_relu/model.onnx'), 'rb').read())
