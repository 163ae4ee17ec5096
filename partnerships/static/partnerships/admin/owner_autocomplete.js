'use strict';
// The owner picker asks for the members of the bank chosen in the same form (the server checks it again).
{
    const $ = django.jQuery;
    $(function() {
        const bank = document.getElementById('id_bank');
        const owner = document.getElementById('id_owner');
        if (!bank || !owner || !owner.dataset.ajaxUrlBase) {
            return;
        }
        const init = () => {
            const base = owner.dataset.ajaxUrlBase;
            const url = bank.value ? base + '?bank=' + encodeURIComponent(bank.value) : base;
            const $owner = $(owner);
            if ($owner.data('select2')) {
                $owner.select2('destroy');
            }
            $owner.select2({
                ajax: {
                    url: url,
                    data: (params) => ({
                        term: params.term,
                        page: params.page,
                        app_label: owner.dataset.appLabel,
                        model_name: owner.dataset.modelName,
                        field_name: owner.dataset.fieldName
                    })
                }
            });
        };
        bank.addEventListener('change', () => {
            $(owner).val(null).trigger('change');
            init();
        });
    });
}
