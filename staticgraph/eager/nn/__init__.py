"""`eager.nn`: a small part of `torch.nn` — Module, Parameter, Linear, Sequential, activations,
losses, `nn.init` and `nn.functional` — on the eager tape."""
from staticgraph.eager.nn import functional, init
from staticgraph.eager.nn.modules import (BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, Dropout,
                                          Flatten, Identity, L1Loss, Linear, LogSoftmax, Module,
                                          MSELoss, NLLLoss, Parameter, ReLU, Sequential, Sigmoid,
                                          Softmax, Tanh)
