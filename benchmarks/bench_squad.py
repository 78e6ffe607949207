"""SQuAD feature creation and the SQuAD train step: albert_nb vs Hugging Face, same data, same run.

Feature creation (examples/s): albert_nb's `squad_features.convert_examples` (the original's
method: SentencePiece pieces aligned to characters by a banded LCS, once per paragraph, then
doc-stride windows with max-context flags and p_mask) against Hugging Face's documented SQuAD
preprocessing (the `prepare_train_features` of transformers' run_qa example: a fast tokenizer
with `return_overflowing_tokens`, `stride` and `return_offsets_mapping`, then char -> token
labels). Both get the same SentencePiece model: Hugging Face's through a `tokenizers` Unigram
built from its pieces and scores (transformers 5's AlbertTokenizer does not read a bare *.model).

Train step (steps/s): `AlbertForQuestionAnswering` here (Keras 3 / TF, tf.function, AdamW as the
original) against transformers' `AlbertForQuestionAnswering` (PyTorch CPU, torch AdamW), same
config, batch and sequence length, on the same features.

Data: a SQuAD v1.1 set built from WordNet's example sentences (`albert_nb.tasks.wordnet_qa`) with
long paragraphs (12 sentences) so that windows overlap, and a SentencePiece model trained on its
text. Default run ~2-3 minutes on 2 cores.

    python benchmarks/bench_squad.py [--questions 1500] [--steps 10] [--batch_size 16] [--seq 128]
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def hf_tokenizer(spm_file: str, lower: bool = True):
    """A transformers fast tokenizer equivalent to the SentencePiece model (same pieces/ids)."""
    import sentencepiece as spm
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    sp = spm.SentencePieceProcessor(model_file=spm_file)
    vocab = [(sp.id_to_piece(i), sp.get_score(i)) for i in range(sp.get_piece_size())]
    tok = Tokenizer(models.Unigram(vocab, unk_id=sp.unk_id()))
    steps = [normalizers.Replace(Regex(r"\s+"), " "), normalizers.NFKD(), normalizers.StripAccents()]
    tok.normalizer = normalizers.Sequence(steps + ([normalizers.Lowercase()] if lower else []))
    tok.pre_tokenizer = pre_tokenizers.Metaspace()
    tok.decoder = decoders.Metaspace()
    return PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="<unk>", pad_token="<pad>",
                                   cls_token="[CLS]", sep_token="[SEP]", mask_token="[MASK]")


def hf_prepare_train_features(tokenizer, examples, max_seq_length: int, doc_stride: int):
    """transformers' run_qa preprocessing (question first, truncate only the context)."""
    enc = tokenizer([e.question_text for e in examples], [e.paragraph_text for e in examples],
                    truncation="only_second", max_length=max_seq_length, stride=doc_stride,
                    return_overflowing_tokens=True, return_offsets_mapping=True, padding="max_length")
    starts, ends = [], []
    for i, offsets in enumerate(enc["offset_mapping"]):
        ex = examples[enc["overflow_to_sample_mapping"][i]]
        seq = enc.sequence_ids(i)
        s_char, e_char = ex.start_position, ex.start_position + len(ex.orig_answer_text)
        first = seq.index(1)
        last = len(seq) - 1 - seq[::-1].index(1)
        if not (offsets[first][0] <= s_char and offsets[last][1] >= e_char):
            starts.append(0)
            ends.append(0)
            continue
        t = first
        while t <= last and offsets[t][0] <= s_char:
            t += 1
        starts.append(t - 1)
        t = last
        while t >= first and offsets[t][1] >= e_char:
            t -= 1
        ends.append(t + 1)
    return enc, starts, ends


def timed(fn, repeat: int = 1):
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return out, best


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--questions", type=int, default=1500)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--batch_size", type=int, default=16)
    parser.add_argument("--seq", type=int, default=128)
    parser.add_argument("--doc_stride", type=int, default=32)
    args = parser.parse_args(argv)

    from albert_nb.finetuning import squad_features as sf
    from albert_nb.tasks import squad, wordnet_qa
    from albert_nb.tokenizers import vocab_training
    from albert_nb.tokenizers.tokenization import FullTokenizer

    work = tempfile.mkdtemp(prefix="bench_squad_")
    paths = wordnet_qa.build_squad(work, "v1.1", train_paragraphs=max(1, args.questions // 12),
                                   eval_paragraphs=1, sentences_per_context=12)
    examples = squad.read_squad_examples(paths["train"], is_training=True)
    text = sorted({e.paragraph_text for e in examples} | {e.question_text for e in examples})
    spm = vocab_training.train_sentencepiece(text, os.path.join(work, "30k-clean"), vocab_size=4000,
                                             hard_vocab_limit=False)
    ours_tok, hf_tok = FullTokenizer(spm_model_file=spm), hf_tokenizer(spm)
    print(f"{len(examples)} questions on {len(set(e.paragraph_text for e in examples))} paragraphs "
          f"(WordNet sentences), max_seq_length {args.seq}, doc_stride {args.doc_stride}")

    # -- feature creation ------------------------------------------------------------------
    ours, t_ours = timed(lambda: sf.convert_examples(examples, ours_tok, args.seq, args.doc_stride, 64, True))
    (hf_enc, _, _), t_hf = timed(lambda: hf_prepare_train_features(hf_tok, examples, args.seq, args.doc_stride))
    rate_ours, rate_hf = len(examples) / t_ours, len(examples) / t_hf
    print(f"features  albert_nb {rate_ours:8.1f} examples/s ({len(ours)} windows)   "
          f"HF fast tokenizer {rate_hf:8.1f} examples/s ({len(hf_enc['input_ids'])} windows)   "
          f"ratio albert_nb/HF {rate_ours / rate_hf:.2f}")

    # -- train step ----------------------------------------------------------------------------
    import numpy as np

    batch = [f for f in ours if len(f.input_ids) == args.seq][: args.batch_size]
    while len(batch) < args.batch_size:
        batch += batch[: args.batch_size - len(batch)]
    ids = np.asarray([f.input_ids for f in batch], np.int32)
    seg = np.asarray([f.segment_ids for f in batch], np.int32)
    starts = np.asarray([f.start_position for f in batch], np.int32)
    ends = np.asarray([f.end_position for f in batch], np.int32)
    dims = dict(embedding_size=128, hidden_size=312, num_hidden_layers=4, num_attention_heads=12,
                intermediate_size=1248)

    import tensorflow as tf

    import albert_nb as an
    from albert_nb.finetuning.squad_trainer import squad_losses
    from albert_nb.model.heads import AlbertForQuestionAnswering
    from albert_nb.training.optimization import create_optimizer

    config = an.AlbertConfig(vocab_size=ours_tok.vocab_size, max_position_embeddings=512, **dims)
    model = AlbertForQuestionAnswering(config)
    optimizer = create_optimizer(5e-5, 1000, 0, "adamw")
    feed = {"input_ids": tf.constant(ids), "input_mask": tf.ones_like(ids), "segment_ids": tf.constant(seg),
            "start_positions": tf.constant(starts), "end_positions": tf.constant(ends)}

    @tf.function
    def tf_step(b):
        with tf.GradientTape() as tape:
            loss = squad_losses(model(b, training=True), b, False)["loss"]
        optimizer.apply(tape.gradient(loss, model.trainable_variables), model.trainable_variables)
        return loss

    tf_step(feed)
    _, t_tf = timed(lambda: [tf_step(feed).numpy() for _ in range(args.steps)])

    import torch
    from transformers import AlbertConfig as HFConfig, AlbertForQuestionAnswering as HFQA

    torch.manual_seed(0)
    hf_model = HFQA(HFConfig(vocab_size=ours_tok.vocab_size, hidden_act="gelu_new",
                             hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0,
                             classifier_dropout_prob=0.0, **dims))
    hf_model.train()
    hf_opt = torch.optim.AdamW(hf_model.parameters(), lr=5e-5)
    t_feed = {"input_ids": torch.tensor(ids, dtype=torch.long), "attention_mask": torch.ones(ids.shape, dtype=torch.long),
              "token_type_ids": torch.tensor(seg, dtype=torch.long),
              "start_positions": torch.tensor(starts, dtype=torch.long),
              "end_positions": torch.tensor(ends, dtype=torch.long)}

    def torch_step():
        hf_opt.zero_grad()
        loss = hf_model(**t_feed).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(hf_model.parameters(), 1.0)
        hf_opt.step()
        return float(loss)

    torch_step()
    _, t_torch = timed(lambda: [torch_step() for _ in range(args.steps)])
    s_tf, s_torch = args.steps / t_tf, args.steps / t_torch
    print(f"train     albert_nb {s_tf:8.2f} steps/s   HF PyTorch {s_torch:8.2f} steps/s   "
          f"ratio albert_nb/HF {s_tf / s_torch:.2f}   (batch {args.batch_size} x {args.seq}, "
          f"E128 H312 L4, {torch.get_num_threads()} torch threads)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
