// The workloads `kiln bench` runs: the catalog's benchmark cases (SGEMM at the peers' shapes, the CNN's
// convolution and pooling layers at batch 64, one LSTM layer; see Catalog+Benchmarks.swift in KilnCheck), then
// whole training steps of the CNN, the MLP, a small ResNet and the character LSTM. The shapes and the backward
// definitions match ../shared/peers (conv_bench.py, lstm_bench.py, sgemm_*.py, train_fmnist.py) and
// Benchmarks/peers (resnet_step.py, charlstm_step.py), so figures compare one to one.
import Foundation
import Kiln
import KilnCheck

extension Workload {
    /// Every workload, in the order the bench runs them.
    public static let all: [Workload] = catalog()

    /// Every workload, the training steps at `trainingBatch` examples (images; character streams for the
    /// char-LSTM), by default each at its own (64 images, 32 streams). Their checks keep their own small batches.
    public static func catalog(trainingBatch: Int? = nil) -> [Workload] {
        OpCatalog.benchmarkCases.map(Workload.init(case:)) + [
            trainingStep(name: "cnn_train_step", model: .cnn, batch: trainingBatch ?? 64, checkBatch: 8),
            trainingStep(name: "mlp_train_step", model: .mlp, batch: trainingBatch ?? 64),
            trainingStep(name: "resnet_train_step", model: resNet, batch: trainingBatch ?? 64, checkBatch: 4),
            characterLSTMStep(streams: trainingBatch ?? 32),
        ]
    }

    /// The workload called `name`, or nil.
    public static func named(_ name: String) -> Workload? { all.first { $0.name == name.lowercased() } }

    /// The small ResNet of `resnet_train_step` (and of Benchmarks/peers/resnet_step.py): a 3×3 stem to 16
    /// channels, then three residual blocks of two 3×3 convolutions with batch norm at 16, 32 and 64 channels on
    /// 28×28, 14×14 and 7×7 (the last two widen through a 1×1 convolution on the shortcut), global average
    /// pooling and a dense layer to 10 classes: about 18.7 MFLOP forward per image, 78,000 parameters.
    public static let resNet = ModelSpec(
        "conv16k3p1-bn-relu-res(conv16k3p1-bn-relu-conv16k3p1-bn)-relu-maxpool2"
            + "-res(conv32k3p1-bn-relu-conv32k3p1-bn)-relu-maxpool2-res(conv64k3p1-bn-relu-conv64k3p1-bn)-relu-gap-flatten-dense10")

    /// One whole optimizer step (forward, loss, backward, SGD with momentum 0.9 at lr 0.01) of the course's
    /// CNN or MLP on a batch of 64 Fashion-MNIST-sized images, through `TrainingStep`. The check compares
    /// the loss, the momentum buffers after one step (the gradients) and the updated parameters; for the
    /// CNN it runs the same model on the first `checkBatch` images (the reference's naive convolutions
    /// take about a minute at batch 64; the conv workloads check those layers at full size).
    public static func trainingStep(name: String, model spec: ModelSpec, batch: Int = 64, checkBatch: Int? = nil) -> Workload {
        func build(batch: Int) -> (Device) throws -> WorkloadInstance {
            { device in
                var random = RandomSource(seed: 51)
                let model = try spec.build(inputShape: [1, 28, 28], random: &random, on: device)
                let optimizer = SGD(momentum: 0.9)
                let step = TrainingStep(model: model, optimizer: optimizer, loss: .softmaxCrossEntropy)
                let plan = try step.plan(for: [batch, 1, 28, 28], on: device)
                var pixels = RandomSource(seed: 52)
                let images = (0..<(batch * 28 * 28)).map { _ in Float.random(in: 0...1, using: &pixels) }
                let labels = (0..<batch).map { Float(($0 * 7) % 10) }
                let inputs = [images, labels, optimizer.scalars(step: 1, learningRate: 0.01)]
                return WorkloadInstance(plan: plan, inputs: inputs) {
                    let states = (optimizer.state + model.parameters).map(\.variable.value)
                    return try plan.output(0).map(Double.init) + states.flatMap { try $0.doubles() }
                }
            }
        }
        return Workload(
            name: name, summary: "\(spec) batch \(batch): forward, loss, backward, SGD momentum 0.9 lr 0.01",
            flopsPerStep: nil, itemsPerStep: batch, tolerance: .trainingStep, slowOnReference: checkBatch != nil,
            build: build(batch: batch), check: checkBatch.map { build(batch: $0) })
    }
}
