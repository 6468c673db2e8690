// TrainingError: why a run cannot start or go on, each case saying what to change.
import Foundation

/// A training run that cannot start or go on. Each message names the setting or file and what to change.
public enum TrainingError: Error, CustomStringConvertible, Equatable {
    /// An epoch would have no batches (`reason` says why and what to change).
    case noBatches(reason: String)
    /// A resume position that the data cannot hold.
    case invalidPosition(String)
    /// A checkpoint's metadata holds a position that is not one (`field` is `kiln.epoch`, `kiln.batch`, ...).
    case invalidCheckpointPosition(file: String, field: String, value: String, reason: String)
    /// The model's output does not fit the data set's classes.
    case modelDoesNotFitClasses(model: String, output: [Int], classes: Int, dataset: String)
    /// A weight or optimizer value is NaN or infinite: the checkpoint was not written.
    case nonFiniteWeights(tensor: String, file: String)
    /// Evaluation gave a NaN or infinite loss after an epoch: the weights diverged.
    case divergedAfterEpoch(epoch: Int, loss: Double)

    public var description: String {
        switch self {
        case .noBatches(let reason): reason
        case .invalidPosition(let reason): "cannot resume: \(reason)"
        case .invalidCheckpointPosition(let file, let field, let value, let reason):
            "\(file): metadata '\(field)' is '\(value)': \(reason); the checkpoint is damaged or from another run"
        case .modelDoesNotFitClasses(let model, let output, let classes, let dataset):
            if output.count == 2 {
                "the model \(model) outputs \(output[1]) classes but \(dataset) has \(classes) (labels 0 to \(classes - 1)); "
                    + "end the model with dense\(classes)"
            } else {
                "the model \(model) outputs shape \(output) per batch; a classifier must output [N, \(classes)] for the "
                    + "\(classes) classes of \(dataset); end it with flatten and dense\(classes)"
            }
        case .nonFiniteWeights(let tensor, let file):
            "the weights are no longer finite (tensor '\(tensor)' holds NaN or infinity); \(file) was not overwritten"
        case .divergedAfterEpoch(let epoch, let loss):
            "training diverged in epoch \(epoch): the evaluation loss is \(loss)"
        }
    }
}
