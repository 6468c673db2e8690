// Kiln: the umbrella module for embedders. One import gives tensors, both backends and device selection.
@_exported import KilnCore
@_exported import KilnOpenCL
@_exported import KilnReference
@_exported import KilnData
@_exported import KilnFiles
@_exported import KilnNN
