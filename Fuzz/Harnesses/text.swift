import Foundation
// Fuzzes the text reader and the character vocabulary: bytes are UTF-8 text or an error naming the first
// bad byte, and the vocabulary encodes and decodes the text back exactly.
import FuzzShim

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzText(_ bytes: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let data = Data(bytes: bytes, count: count)
    guard let text = try? TextFile.decode(data, file: "fuzz.txt") else {
        precondition(data.contains(0) || String(validating: data, as: UTF8.self) == nil, "valid UTF-8 text refused")
        return 0
    }
    precondition(Data(text.utf8) == data, "the text is not the file's bytes")
    let vocabulary = CharacterVocabulary(text: text)
    guard let indices = try? vocabulary.encode(text) else { preconditionFailure("the vocabulary lacks a character of its own text") }
    precondition(vocabulary.decode(indices).unicodeScalars.elementsEqual(text.unicodeScalars), "decode(encode(text)) differs")
    if let json = try? vocabulary.json(), !vocabulary.characters.isEmpty {
        precondition(CharacterVocabulary(json: json) == vocabulary, "the vocabulary does not survive its checkpoint form")
    }
    return 0
}
