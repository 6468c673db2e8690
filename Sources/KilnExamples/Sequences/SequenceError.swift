// SequenceError: what can be wrong with a sequence experiment's settings, a text, a prompt or a
// character-model checkpoint, each saying what to change.
import Foundation
import Kiln

/// A bad setting or file for the sequence models; the message names the value and how to fix it.
public enum SequenceError: Error, CustomStringConvertible, Equatable {
    /// A setting is out of range.
    case invalidSetting(name: String, reason: String)
    /// The text is too short for the windows and streams asked for.
    case textTooShort(characters: Int, needed: Int)
    /// The prompt uses characters the model never saw.
    case unknownCharacters(String)
    /// The checkpoint is not a character model's (no vocabulary in its metadata) or its metadata is damaged.
    case notACharacterModel(file: String, reason: String)
    /// Training produced a NaN or infinite loss.
    case nonFiniteLoss(step: Int)

    public var description: String {
        switch self {
        case .invalidSetting(let name, let reason): "\(name) \(reason)"
        case .textTooShort(let characters, let needed):
            "the text has \(characters) characters; at least \(needed) are needed for the validation split, the window and the batch (use a longer text or a smaller --window/--batch-size)"
        case .unknownCharacters(let characters):
            "the prompt contains characters the model's vocabulary lacks: \(characters.debugDescription); use characters from the training text"
        case .notACharacterModel(let file, let reason):
            "\(file): not a char-lstm checkpoint (\(reason)); train one with `kiln train --model char-lstm --text FILE`"
        case .nonFiniteLoss(let step):
            "training stopped at step \(step): the loss is not finite; lower the learning rate or the clip norm"
        }
    }
}

/// Throws `SequenceError.invalidSetting` unless `condition` holds.
func requireSetting(_ condition: Bool, _ name: String, _ reason: String) throws {
    if !condition { throw SequenceError.invalidSetting(name: name, reason: reason) }
}
