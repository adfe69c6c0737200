import type { ReactNode } from 'react';
import { Dialog as AriaDialog, Heading, Modal, ModalOverlay } from 'react-aria-components';

/** A modal dialog: focus stays inside until it closes; Escape closes it unless `busy`. */
export function Dialog({ title, isOpen, onClose, busy = false, wide = false, children }: { title: string; isOpen: boolean; onClose: () => void; busy?: boolean; wide?: boolean; children: ReactNode }) {
  return (
    <ModalOverlay isOpen={isOpen} onOpenChange={(open) => !open && onClose()} isDismissable={!busy} isKeyboardDismissDisabled={busy} className="fixed inset-0 z-20 flex items-start justify-center overflow-y-auto bg-slate-900/50 p-6">
      <Modal className={`w-full rounded-lg bg-white shadow-xl ${wide ? 'max-w-4xl' : 'max-w-lg'}`}>
        <AriaDialog className="p-6 outline-none">
          <Heading slot="title" className="mb-4 text-lg font-semibold">
            {title}
          </Heading>
          {children}
        </AriaDialog>
      </Modal>
    </ModalOverlay>
  );
}
