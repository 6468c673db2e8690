// CharacterVocabulary: the Unicode scalars of a text, sorted, each given an index; what a character
// model reads and writes, stored in its checkpoint's metadata as a JSON array of strings.
import Foundation
import Kiln

/// The characters (Unicode scalars) a character model knows, in index order.
public struct CharacterVocabulary: Equatable, Sendable {
    public let characters: [Unicode.Scalar]
    private let indices: [Unicode.Scalar: Int]

    /// Every distinct scalar of `text`, sorted by code point.
    public init(text: String) {
        self.init(characters: Array(Set(text.unicodeScalars)).sorted { $0.value < $1.value })
    }

    public init(characters: [Unicode.Scalar]) {
        self.characters = characters
        indices = Dictionary(uniqueKeysWithValues: characters.enumerated().map { ($0.element, $0.offset) })
    }

    public var count: Int { characters.count }

    /// The indices of `text`'s scalars; throws naming the scalars the vocabulary lacks.
    public func encode(_ text: String) throws -> [Int] {
        var result: [Int] = []
        result.reserveCapacity(text.unicodeScalars.count)
        var unknown: [Unicode.Scalar] = []
        for scalar in text.unicodeScalars {
            if let index = indices[scalar] { result.append(index) } else if !unknown.contains(scalar) { unknown.append(scalar) }
        }
        if !unknown.isEmpty { throw SequenceError.unknownCharacters(String(String.UnicodeScalarView(unknown))) }
        return result
    }

    /// The text of `indices`.
    public func decode(_ indices: [Int]) -> String {
        String(String.UnicodeScalarView(indices.map { characters[$0] }))
    }

    /// The vocabulary as a JSON array of one-scalar strings (for checkpoint metadata).
    public func json() throws -> String {
        String(decoding: try JSONEncoder().encode(characters.map { String($0) }), as: UTF8.self)
    }

    /// Reads `json()`'s output; nil when it is not an array of one-scalar strings without repeats.
    public init?(json: String) {
        guard let strings = try? JSONDecoder().decode([String].self, from: Data(json.utf8)) else { return nil }
        var scalars: [Unicode.Scalar] = []
        for string in strings {
            let view = string.unicodeScalars
            guard view.count == 1, let scalar = view.first else { return nil }
            scalars.append(scalar)
        }
        guard !scalars.isEmpty, Set(scalars).count == scalars.count else { return nil }
        self.init(characters: scalars)
    }
}
