#!/usr/bin/env python3
"""Writes the data sets the README's data-set measurements use, from Debian's Fashion-MNIST, with Pillow
(the library torchvision reads images with), so Kiln reads files a PyTorch user would have:

  fashion-png OUT    Fashion-MNIST as an image folder: OUT/train/<class>/<n>.png, OUT/test/<class>/<n>.png
                     (70,000 grey 28x28 PNGs; class folders named after the classes).
  rgb3 OUT           3 classes (trouser, bag, sneaker) as RGB 32x32 JPEGs, each garment tinted a random colour
                     on a noisy colour background, with train/, val/ and test/ splits.
  letters26 OUT      a 26-class NumPy set derived from Fashion-MNIST: classes 0-9 are the ten classes upright,
                     10-19 the same upside down, 20-25 classes 0-5 transposed; train_/test_images.npy (uint8
                     [N, 28, 28]), train_/test_labels.npy (int64) and classes.txt.
  idx-folder-order OUT
                     Fashion-MNIST as IDX files in the order fashion-png's folder is read in (classes sorted by
                     folder name, then files by name) with labels renumbered to match: training on it must give
                     the folder's run bit for bit, which shows that decoding and normalisation add nothing.
  noise OUT MB       MB megabytes of incompressible RGB 64x64 PNGs (random pixels) in 10 class folders, for
                     measuring memory while training on a folder larger than memory.

Needs numpy and Pillow (pip install numpy pillow).
"""
import gzip
import os
import sys

import numpy as np
from PIL import Image

FASHION = "/usr/share/datasets/fashion-mnist"
NAMES = ["T-shirt-top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]


def idx(name):
    """An IDX file of Debian's Fashion-MNIST, gzipped or not, as a numpy array."""
    path = os.path.join(FASHION, name)
    opener = gzip.open if os.path.exists(path + ".gz") else open
    with opener(path + ".gz" if os.path.exists(path + ".gz") else path, "rb") as f:
        data = f.read()
    rank = data[3]
    shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(rank)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * rank).reshape(shape)


def split(prefix):
    return idx(f"{prefix}-images-idx3-ubyte"), idx(f"{prefix}-labels-idx1-ubyte")


def fashion_png(out):
    for folder, prefix in [("train", "train"), ("test", "t10k")]:
        images, labels = split(prefix)
        for index, (image, label) in enumerate(zip(images, labels)):
            directory = os.path.join(out, folder, NAMES[label])
            os.makedirs(directory, exist_ok=True)
            Image.fromarray(image, "L").save(os.path.join(directory, f"{index:05d}.png"))


def idx_folder_order(out):
    os.makedirs(out, exist_ok=True)
    order = sorted(range(10), key=lambda label: NAMES[label].encode())  # code point order, as Kiln and torchvision sort
    renumbered = {label: position for position, label in enumerate(order)}
    for prefix in ["train", "t10k"]:
        images, labels = split(prefix)
        # Within a class folder the files are named by index, so index order is file-name order.
        permutation = sorted(range(len(labels)), key=lambda index: (renumbered[int(labels[index])], index))
        for kind, array in [("images-idx3", images[permutation]),
                            ("labels-idx1", np.array([renumbered[int(labels[i])] for i in permutation], dtype=np.uint8))]:
            with open(os.path.join(out, f"{prefix}-{kind}-ubyte"), "wb") as f:
                f.write(bytes([0, 0, 8, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape))
                f.write(np.ascontiguousarray(array).tobytes())


def rgb3(out):
    rng = np.random.default_rng(0)
    classes = {1: "trouser", 8: "bag", 7: "sneaker"}
    for folder, prefix, start, stop in [("train", "train", 0, 54000), ("val", "train", 54000, 60000), ("test", "t10k", 0, 10000)]:
        images, labels = split(prefix)
        for index in range(start, stop):
            label = int(labels[index])
            if label not in classes:
                continue
            garment = images[index].astype(np.float32) / 255
            colour = rng.uniform(0.2, 1.0, 3)
            background = rng.uniform(0, 0.5, 3) + rng.uniform(-0.1, 0.1, (28, 28, 3))
            rgb = garment[..., None] * colour + (1 - garment[..., None]) * background
            picture = Image.fromarray((np.clip(rgb, 0, 1) * 255).astype(np.uint8), "RGB").resize((32, 32), Image.BILINEAR)
            directory = os.path.join(out, folder, classes[label])
            os.makedirs(directory, exist_ok=True)
            picture.save(os.path.join(directory, f"{index:05d}.jpg"), quality=90)


def letters26(out):
    os.makedirs(out, exist_ok=True)
    for name, prefix in [("train", "train"), ("test", "t10k")]:
        images, labels = split(prefix)
        derived, classes = [], []
        for index, (image, label) in enumerate(zip(images, labels)):
            variant = index % 3
            if variant == 2 and label < 6:
                derived.append(image.T)
                classes.append(20 + label)
            elif variant == 1:
                derived.append(image[::-1, ::-1])
                classes.append(10 + label)
            else:
                derived.append(image)
                classes.append(label)
        np.save(os.path.join(out, f"{name}_images.npy"), np.ascontiguousarray(np.stack(derived)))
        np.save(os.path.join(out, f"{name}_labels.npy"), np.array(classes, dtype=np.int64))
    names = NAMES + [n + " (upside down)" for n in NAMES] + [n + " (transposed)" for n in NAMES[:6]]
    with open(os.path.join(out, "classes.txt"), "w") as f:
        f.write("\n".join(names) + "\n")


def noise(out, megabytes):
    rng = np.random.default_rng(1)
    written, index = 0, 0
    while written < megabytes * 1e6:
        directory = os.path.join(out, f"class{index % 10}")
        os.makedirs(directory, exist_ok=True)
        path = os.path.join(directory, f"{index:06d}.png")
        Image.fromarray(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8), "RGB").save(path)
        written += os.path.getsize(path)
        index += 1
    print(f"{index} files, {written / 1e6:.1f} MB")


if __name__ == "__main__":
    commands = {"fashion-png": fashion_png, "idx-folder-order": idx_folder_order, "rgb3": rgb3, "letters26": letters26}
    if len(sys.argv) == 3 and sys.argv[1] in commands:
        commands[sys.argv[1]](sys.argv[2])
    elif len(sys.argv) == 4 and sys.argv[1] == "noise":
        noise(sys.argv[2], float(sys.argv[3]))
    else:
        sys.exit(__doc__)
