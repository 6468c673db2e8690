#!/usr/bin/env python3
# Usage: python3 Tools/distributed_projection.py [SVG]   (standard library only)
# Projects the scaling efficiency of Kiln's data-parallel training (Docs/distributed.md) with the ring-allreduce
# cost model, T = 2(N-1)/N * S / B + 2(N-1) * a per bucket, for the course's MLP and CNN with 64 images per
# machine per step, at 10 and 100 Gb/s, prints the table the document quotes and writes the chart
# (default Docs/images/distributed-projection.svg).
import sys

# Gradient bytes per step and one machine's step time (kiln bench on the 2-core development machine, pocl,
# quiet: cnn_train_step 2,948 images/s, mlp_train_step 45,532 images/s, batch 64).
MODELS = {
    "MLP": dict(gradient=235_146 * 4, step=64 / 45_532),
    "CNN": dict(gradient=421_642 * 4, step=64 / 2_948),
}
# How each arrangement splits the gradients into buckets (bytes each, in the order the backward pass finishes
# them) and what part of the step's compute runs after each bucket is complete (which its allreduce can hide
# behind). The MLP's first layer holds 85% of its gradient and is finished last; the CNN's dense layer holds
# 95% of its gradient and is finished before the convolutions' backward pass, about 45% of the step.
ARRANGEMENTS = {
    "MLP (one bucket)": ("MLP", [(235_146 * 4, 0.0)]),
    "CNN, DDP's 25 MiB buckets": ("CNN", [(1_418 * 4, 0.5), (420_224 * 4, 0.0)]),
    "CNN, 1 MiB buckets (--bucket-mib 1)": ("CNN", [(1_418 * 4, 0.5), (401_408 * 4, 0.45), (18_816 * 4, 0.0)]),
}
# Networks: bandwidth in bytes per second and the latency of one message (TCP on 10 GbE; RDMA-class 100 GbE).
NETWORKS = {"10 Gb/s": (10e9 / 8, 25e-6), "100 Gb/s": (100e9 / 8, 5e-6)}
# Copying the gradients to the host and back (each way at about 10 GB/s: PCIe, or memory on pocl).
HOST_COPY_BYTES_PER_SECOND = 10e9


def allreduce_seconds(bytes_, machines, bandwidth, latency):
    """Ring allreduce of `bytes_` over `machines`: 2(N-1)/N of the bytes through each link, 2(N-1) messages."""
    if machines == 1:
        return 0.0
    return 2 * (machines - 1) / machines * bytes_ / bandwidth + 2 * (machines - 1) * latency


def efficiency(arrangement, machines, network, overlap=True):
    """One machine's step time over the time of a step on `machines` (weak scaling: 64 images per machine)."""
    model, buckets = ARRANGEMENTS[arrangement]
    step = MODELS[model]["step"]
    bandwidth, latency = NETWORKS[network]
    copies = 2 * MODELS[model]["gradient"] / HOST_COPY_BYTES_PER_SECOND if machines > 1 else 0.0
    # Buckets are reduced one after another; each starts when it is complete and the one before it is done,
    # and whatever runs past the end of the backward pass is exposed.
    clock = 0.0
    for size, after in buckets:
        ready = step * (1 - after) if overlap else step
        clock = max(clock, ready) + allreduce_seconds(size, machines, bandwidth, latency)
    exposed = max(clock - step, 0.0)
    return step / (step + exposed + copies)


def table():
    rows = ["| arrangement | network | 8 machines | 64 machines |", "| --- | --- | ---: | ---: |"]
    for arrangement in ARRANGEMENTS:
        for network in NETWORKS:
            cells = [f"{100 * efficiency(arrangement, n, network):.0f}%" for n in (8, 64)]
            rows.append(f"| {arrangement} | {network} | {cells[0]} | {cells[1]} |")
    return "\n".join(rows)


def chart(path):
    width, height, left, right, top, bottom = 990, 430, 70, 420, 40, 60
    machines = [1, 2, 4, 8, 16, 32, 64, 128]
    x = lambda n: left + (width - left - right) * (machines.index(n) / (len(machines) - 1))
    y = lambda e: top + (height - top - bottom) * (1 - e)
    colors = {"MLP (one bucket)": "#d62728", "CNN, DDP's 25 MiB buckets": "#1f77b4", "CNN, 1 MiB buckets (--bucket-mib 1)": "#2ca02c"}
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="12">',
           f'<rect width="{width}" height="{height}" fill="white"/>',
           f'<text x="{width / 2}" y="22" text-anchor="middle" font-size="14">Projected scaling efficiency, 64 images per machine per step (ring allreduce)</text>']
    for e in (0, 0.25, 0.5, 0.75, 1.0):
        out.append(f'<line x1="{left}" y1="{y(e):.1f}" x2="{width - right}" y2="{y(e):.1f}" stroke="#ddd"/>')
        out.append(f'<text x="{left - 8}" y="{y(e) + 4:.1f}" text-anchor="end">{int(e * 100)}%</text>')
    for n in machines:
        out.append(f'<text x="{x(n):.1f}" y="{height - bottom + 18}" text-anchor="middle">{n}</text>')
    out.append(f'<text x="{(left + width - right) / 2}" y="{height - 18}" text-anchor="middle">machines</text>')
    out.append(f'<text x="18" y="{(top + height - bottom) / 2}" text-anchor="middle" transform="rotate(-90 18 {(top + height - bottom) / 2})">efficiency</text>')
    legend = top + 10
    for arrangement, color in colors.items():
        for network, dash in (("10 Gb/s", ""), ("100 Gb/s", ' stroke-dasharray="6 4"')):
            points = " ".join(f"{x(n):.1f},{y(efficiency(arrangement, n, network)):.1f}" for n in machines)
            out.append(f'<polyline points="{points}" fill="none" stroke="{color}" stroke-width="2"{dash}/>')
            out.append(f'<line x1="{width - right + 12}" y1="{legend}" x2="{width - right + 40}" y2="{legend}" stroke="{color}" stroke-width="2"{dash}/>')
            out.append(f'<text x="{width - right + 46}" y="{legend + 4}" font-size="11">{arrangement.split(" (--")[0]}, {network}</text>')
            legend += 18
    # Horovod's published points: 128 Pascal GPUs on 25 Gb/s RoCE, large image models.
    for label, e in (("Horovod: Inception V3, ResNet-101", 0.88), ("Horovod: VGG-16", 0.68)):
        out.append(f'<circle cx="{x(128):.1f}" cy="{y(e):.1f}" r="5" fill="black"/>')
        out.append(f'<circle cx="{width - right + 26}" cy="{legend}" r="4" fill="black"/>')
        out.append(f'<text x="{width - right + 46}" y="{legend + 4}" font-size="11">{label}: {int(e * 100)}% (128 GPUs, 25 Gb/s)</text>')
        legend += 18
    out.append("</svg>")
    with open(path, "w") as file:
        file.write("\n".join(out) + "\n")


if __name__ == "__main__":
    print(table())
    chart(sys.argv[1] if len(sys.argv) > 1 else "Docs/images/distributed-projection.svg")
