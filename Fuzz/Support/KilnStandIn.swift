// A stand-in for the umbrella module `Kiln` in fuzz builds: the library modules the harnesses need, so that
// source files written against `import Kiln` (the character vocabulary) compile into the shim.
@_exported import KilnCore
@_exported import KilnData
@_exported import KilnFiles
@_exported import KilnNN
@_exported import KilnReference
