// Kiln: the umbrella module for embedders. One import gives tensors, both backends, layers, data sets,
// checkpoints and the trainer; it re-exports the library modules and holds nothing of its own.
@_exported import KilnCore
@_exported import KilnData
@_exported import KilnFiles
@_exported import KilnNN
@_exported import KilnOpenCL
@_exported import KilnReference
@_exported import KilnTraining
